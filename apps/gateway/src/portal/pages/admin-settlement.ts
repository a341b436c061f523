import { bedrockExclusionText, finalityText } from "../../settlement/settlement-cli-text.js";
import type { WeeklySettlementTally } from "../../settlement/settlement-tally.js";
import type { WeeklyRateRecord } from "../../settlement/weekly-rates.js";
import { num, plural, usd, when } from "../format.js";
import { type Html, html } from "../html.js";
import { csrfField, page, type View } from "../layout.js";

export interface SettlementPageData {
  readonly weekId: string;
  readonly currentWeekId: string;
  readonly rates: readonly WeeklyRateRecord[];
  readonly tally: WeeklySettlementTally;
  readonly operator: string;
}

export function adminSettlementPage(view: View, data: SettlementPageData): Html {
  const { tally } = data;
  const rate = data.rates.find((r) => r.weekId === data.weekId);
  const balanced =
    tally.totals.mintedUpokt === tally.totals.chargedUpokt &&
    tally.totals.chargedUpokt === tally.totals.burnedUpokt;
  return page(
    view,
    "Settlement",
    html`<h1>Settlement</h1><p class="lead">Each proven claim mints POKT at the week's rate; this portal operator (<strong>${data.operator}</strong>) is charged exactly what was minted, and the charge is burned. The week adds no POKT.</p>
<div class="grid2">
<div class="card"><h2 style="margin-top:0">POKT rate for ${data.weekId}</h2>
<div class="stat" id="current-rate">${rate ? `$${rate.usdPerPokt}` : "not set"}</div><div class="stat-label">${rate ? `per POKT · set ${when(rate.setAt)} · ${plural(rate.claims, "claim")} pinned it${rate.claims > 0 ? " (final)" : ""}` : "claims of this week wait until it is set"}</div>
<form method="post" action="/portal/admin/settlement/rate" class="inline" style="margin-top:14px" id="rate-form">${csrfField(view)}
<div class="field"><label for="rate-week">Week</label><input type="text" id="rate-week" name="week" value="${data.weekId}" pattern="[0-9]{4}-W[0-9]{2}" required style="width:120px"></div>
<div class="field"><label for="rate-usd">USD per POKT</label><input type="text" inputmode="decimal" id="rate-usd" name="usdPerPokt" value="${rate?.usdPerPokt ?? ""}" placeholder="0.25" required style="width:140px"></div>
<button type="submit">Set rate</button></form>
<div class="hint">A rate is final once a claim pinned it: that claim's mint was promised at it.</div></div>
<div class="card"><h2 style="margin-top:0">Tally ${data.weekId}</h2>
<div class="balance" id="balance"><span>minted <strong data-amount="minted">${tally.totals.mintedPokt}</strong> POKT</span><span class="eq">=</span><span>charged <strong data-amount="charged">${tally.totals.chargedUpokt === tally.totals.mintedUpokt ? tally.totals.mintedPokt : "≠"}</strong> POKT</span><span class="eq">=</span><span>burned <strong data-amount="burned">${tally.totals.burnedPokt}</strong> POKT</span>
${balanced ? html`<span class="badge ok">balanced</span>` : html`<span class="badge bad">unbalanced</span>`}</div>
<p class="muted">${plural(tally.totals.relaysProven, "relay")} proven in ${plural(tally.totals.claims, "claim")} · worth ${usd(BigInt(tally.totals.fiatMicroUsd))} at the week's rate${tally.totals.bedrockEquivalentMicroUsd === null ? "" : html` · the same tokens on Bedrock: ${usd(BigInt(tally.totals.bedrockEquivalentMicroUsd))}${tally.totals.bedrockExcludedRelays > 0 ? " (text relays only)" : ""}`}. Unsettled: ${tally.unsettled.claimed} awaiting proof, ${tally.unsettled.rejected} rejected.</p>
${bedrockExclusionText(tally.totals) === undefined ? "" : html`<p class="muted" id="bedrock-excluded">${bedrockExclusionText(tally.totals)}</p>`}
<p class="muted" id="finality">${finalityText(tally.finality)}</p>
<a class="button secondary" href="/portal/admin/tally.csv?week=${data.weekId}" download>Export CSV</a></div>
</div>
<div class="card"><h2 style="margin-top:0">By service</h2><div class="table-wrap"><table id="tally"><thead><tr><th>Service</th><th class="num">Claims</th><th class="num">Relays proven</th><th class="num">Minted (uPOKT)</th><th class="num">Charged (uPOKT)</th><th class="num">Burned (uPOKT)</th><th class="num">Fiat</th></tr></thead><tbody>
${
  tally.rows.length === 0
    ? html`<tr><td colspan="7" class="muted">No proven claims this week yet.</td></tr>`
    : tally.rows.map(
        (r) =>
          html`<tr data-service="${r.serviceId}"><td><code>${r.serviceId}</code></td><td class="num">${num(r.claims)}</td><td class="num">${num(r.relaysProven)}</td><td class="num">${r.mintedUpokt}</td><td class="num">${r.chargedUpokt}</td><td class="num">${r.burnedUpokt}</td><td class="num">${usd(BigInt(r.fiatMicroUsd))}</td></tr>`,
      )
}</tbody><tfoot><tr><th>Total</th><th class="num">${num(tally.totals.claims)}</th><th class="num">${num(tally.totals.relaysProven)}</th><th class="num">${tally.totals.mintedUpokt}</th><th class="num">${tally.totals.chargedUpokt}</th><th class="num">${tally.totals.burnedUpokt}</th><th class="num">${usd(BigInt(tally.totals.fiatMicroUsd))}</th></tr></tfoot></table></div></div>
<div class="card"><h2 style="margin-top:0">Weekly rates</h2><table><thead><tr><th>Week</th><th class="num">USD per POKT</th><th>Set</th><th class="num">Claims pinned</th></tr></thead><tbody>
${data.rates.length === 0 ? html`<tr><td colspan="4" class="muted">No rate set yet.</td></tr>` : [...data.rates].reverse().map((r) => html`<tr><td><a href="/portal/admin/settlement?week=${r.weekId}">${r.weekId}</a>${r.weekId === data.currentWeekId ? html` <span class="badge">this week</span>` : ""}</td><td class="num">$${r.usdPerPokt}</td><td>${when(r.setAt)}</td><td class="num">${num(r.claims)}</td></tr>`)}
</tbody></table></div>`,
  );
}
