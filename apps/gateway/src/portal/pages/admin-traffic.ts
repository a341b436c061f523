import { formatUsd } from "../../settlement/usd-amount.js";
import { num, pct, usd } from "../format.js";
import { type Html, html } from "../html.js";
import { page, type View } from "../layout.js";
import { horizontalBars, stackedBars } from "../svg-charts.js";

/** Relays sold as one service and tier, served under one model service, in the window. */
export interface TrafficRow {
  /** The service and tier sold. */
  readonly serviceId: string;
  readonly tier: string;
  /** The model service that served them (the sold one itself, or failed relays, for a model-named sale). */
  readonly servedServiceId: string;
  readonly requests: number;
  readonly failed: number;
  readonly inputTokens: number;
  readonly outputTokens: number;
  readonly images: number;
  readonly spentMicroUsd: number;
  readonly avgLatencyMs: number;
}

export interface TrafficPageData {
  readonly days: number;
  readonly rows: readonly TrafficRow[];
  readonly dayList: readonly string[];
  readonly daily: readonly { readonly day: string; readonly serviceId: string; readonly requests: number }[];
  readonly accounts: number;
  readonly activeKeys: number;
}

export function adminTrafficPage(view: View, data: TrafficPageData): Html {
  const total = (f: (r: TrafficRow) => number) => data.rows.reduce((s, r) => s + f(r), 0);
  const services = [...new Set(data.daily.map((d) => d.serviceId))].sort();
  const series = services.map((name) => ({
    name,
    values: data.dayList.map((day) =>
      data.daily.filter((d) => d.day === day && d.serviceId === name).reduce((s, d) => s + d.requests, 0),
    ),
  }));
  const requests = total((r) => r.requests);
  return page(
    view,
    "Traffic",
    html`<h1>Traffic</h1><p class="lead">All applications' relays through this gateway, by the service and tier sold and the model service that served them.</p>
<div class="tabs">${[1, 7, 30].map((d) => html`<a href="/portal/admin/traffic?days=${d}" class="${d === data.days ? "active" : ""}">${d === 1 ? "Today" : `${d} days`}</a>`)}</div>
<div class="grid3"><div class="card"><div class="stat">${num(requests)}</div><div class="stat-label">relays (${pct(requests === 0 ? 0 : total((r) => r.failed) / requests)} failed)</div></div>
<div class="card"><div class="stat">${usd(total((r) => r.spentMicroUsd))}</div><div class="stat-label">charged to applications</div></div>
<div class="card"><div class="stat">${num(data.accounts)}</div><div class="stat-label">portal accounts · ${num(data.activeKeys)} active keys</div></div></div>
<div class="grid2"><div class="card">${stackedBars({ title: "Relays per day, by service", categories: data.dayList, series, format: (n) => num(n), integer: true })}</div>
<div class="card">${horizontalBars({ title: "Relays by service and tier", rows: data.rows.map((r) => ({ label: `${r.serviceId}:${r.tier}${r.servedServiceId === r.serviceId ? "" : ` via ${r.servedServiceId}`}`, value: r.requests })), format: (n) => num(n) })}</div></div>
<div class="card"><div class="table-wrap"><table id="traffic"><thead><tr><th>Service</th><th>Tier</th><th>Served by</th><th class="num">Relays</th><th class="num">Failed</th><th class="num">Input tokens</th><th class="num">Output tokens</th><th class="num">Images</th><th class="num">Avg latency</th><th class="num">Charged</th></tr></thead><tbody>
${
  data.rows.length === 0
    ? html`<tr><td colspan="10" class="muted">No relays in this period.</td></tr>`
    : data.rows.map(
        (r) =>
          html`<tr data-service="${r.serviceId}" data-tier="${r.tier}"><td><code>${r.serviceId}</code></td><td>${r.tier}</td><td>${r.servedServiceId === r.serviceId ? html`<span class="muted">itself</span>` : html`<code>${r.servedServiceId}</code>`}</td><td class="num">${num(r.requests)}</td><td class="num">${num(r.failed)}</td><td class="num">${num(r.inputTokens)}</td><td class="num">${num(r.outputTokens)}</td><td class="num">${num(r.images)}</td><td class="num">${num(r.avgLatencyMs)} ms</td><td class="num">$${formatUsd(r.spentMicroUsd)}</td></tr>`,
      )
}</tbody></table></div></div>`,
  );
}
