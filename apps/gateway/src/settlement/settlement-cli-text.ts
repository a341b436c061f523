import type { ClaimRecord } from "./claim-record.js";
import type { TallyAmounts, WeekFinality, WeeklySettlementTally } from "./settlement-tally.js";
import { formatUsd } from "./usd-amount.js";
import type { WeeklyRateRecord } from "./weekly-rates.js";

/** Plain-text renderings of settlement answers for the terminal. */

function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]?.length ?? 0)));
  const line = (cells: readonly string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ");
  return [line(header), ...rows.map(line)].join("\n");
}

/** The Bedrock column: `n/a` where no relay has a Bedrock price, `(text only)` where some have none. */
function bedrockCell(a: TallyAmounts): string {
  if (a.bedrockEquivalentMicroUsd === null) return a.bedrockExcludedRelays > 0 ? "n/a" : "-";
  const usd = `$${formatUsd(BigInt(a.bedrockEquivalentMicroUsd))}`;
  return a.bedrockExcludedRelays > 0 ? `${usd} (text only)` : usd;
}

/** What the Bedrock equivalent leaves out, in a sentence; undefined when it covers every relay. */
export function bedrockExclusionText(a: TallyAmounts): string | undefined {
  if (a.bedrockExcludedRelays === 0) return undefined;
  return `Bedrock equivalent: text relays only. ${a.bedrockExcludedRelays} image or embedding relay(s) are not in it: the Bedrock prices compared are Llama 2 13B's per-token text prices, which price neither an image nor an embedding.`;
}

const cells = (label: string, a: TallyAmounts): string[] => [
  label,
  String(a.claims),
  String(a.relaysProven),
  a.mintedPokt,
  a.burnedPokt,
  `$${formatUsd(BigInt(a.fiatMicroUsd))}`,
  bedrockCell(a),
];

/** Whether the week's tally can still change, in one line (see `WeekFinality`). */
export function finalityText(f: WeekFinality): string {
  if (f.claimsUntil === null || f.proofsUntil === null || f.finalAt === null)
    return "Not final: the week has no POKT rate yet, and its claims wait for one.";
  const at = (ms: number) => new Date(ms).toISOString();
  if (f.final) return `Final since ${at(f.finalAt)}: no claim of this week can be stored or proven any more.`;
  return `Not final: claims of this week may come until ${at(f.claimsUntil)}, proofs until ${at(f.proofsUntil)}; final after ${at(f.finalAt)}.`;
}

export function formatTallyText(t: WeeklySettlementTally): string {
  const rate = t.usdPerPokt === null ? "no POKT rate set" : `POKT at $${t.usdPerPokt}`;
  const head = `Week ${t.weekId} — operator ${t.operator} (gateway ${t.gatewayAddress}) — ${rate}`;
  if (t.rows.length === 0) return `${head}\nNo proven claims this week.\n${finalityText(t.finality)}\n`;
  const body = table(
    [
      "service",
      "claims",
      "relays",
      "minted POKT",
      "charged = burned POKT",
      "burn in USD",
      "Bedrock equivalent",
    ],
    [...t.rows.map((r) => cells(r.serviceId, r)), cells("total", t.totals)],
  );
  const excluded = bedrockExclusionText(t.totals);
  const open = `Not minted: ${t.unsettled.claimed} claim(s) awaiting proof, ${t.unsettled.rejected} rejected.`;
  return `${head}\n${body}\n${excluded === undefined ? "" : `${excluded}\n`}${open}\n${finalityText(t.finality)}\nThe operator is charged exactly what was minted, and the charge is burned 1:1.\n`;
}

export function formatRatesText(rates: readonly WeeklyRateRecord[]): string {
  if (rates.length === 0) return "No weekly POKT rate is set.\n";
  return `${table(
    ["week", "USD per POKT", "µUSD per POKT", "claims pinned"],
    rates.map((r) => [r.weekId, `$${r.usdPerPokt}`, String(r.rateMicroUsdPerPokt), String(r.claims)]),
  )}\n`;
}

/** Stored claims, one line each, in the order the admin API lists them. */
export function formatClaimsText(claims: readonly ClaimRecord[]): string {
  if (claims.length === 0) return "No claims match.\n";
  return `${table(
    ["week", "node", "service", "session", "relays", "paid relays", "status", "minted POKT", "claimed at"],
    claims.map((c) => [
      c.weekId,
      c.nodeAddress,
      c.serviceId,
      String(c.sessionNumber),
      String(c.relays),
      c.paidRelays === null ? "-" : String(c.paidRelays),
      c.status,
      c.mintedPokt,
      new Date(c.claimedAt).toISOString(),
    ]),
  )}\n`;
}
