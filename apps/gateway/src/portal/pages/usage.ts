import { csvField } from "../../app/csv-field.js";
import type { UsageRow } from "../../metering/usage-report.js";
import { formatUsd } from "../../settlement/usd-amount.js";
import { num, usd } from "../format.js";
import { type Html, html } from "../html.js";
import { page, type View } from "../layout.js";
import { stackedBars } from "../svg-charts.js";

export interface UsagePageData {
  readonly rows: readonly UsageRow[];
  readonly days: number;
  readonly keyId: string | undefined;
  readonly keyNames: ReadonlyMap<string, string>;
  /** Every UTC day of the window, oldest first (`YYYY-MM-DD`). */
  readonly dayList: readonly string[];
}

/** Per-day series of one measure, one series per group (a model, a key), named by `label`. */
function seriesBy(
  rows: readonly UsageRow[],
  dayList: readonly string[],
  measure: (r: UsageRow) => number,
  group: (r: UsageRow) => string = (r) => r.serviceId,
  label: (g: string) => string = (g) => g,
) {
  const groups = [...new Set(rows.map(group))].sort();
  return groups.map((g) => ({
    name: label(g),
    values: dayList.map((day) =>
      rows.filter((r) => r.day === day && group(r) === g).reduce((s, r) => s + measure(r), 0),
    ),
  }));
}

const spend = (n: number) => `$${formatUsd(Math.round(n))}`;

export function usagePage(view: View, data: UsagePageData): Html {
  const { rows, dayList } = data;
  const total = (f: (r: UsageRow) => number) => rows.reduce((s, r) => s + f(r), 0);
  const query = (days: number) =>
    `/portal/usage?days=${days}${data.keyId === undefined ? "" : `&key=${encodeURIComponent(data.keyId)}`}`;
  const csv = `/portal/usage.csv?days=${data.days}${data.keyId === undefined ? "" : `&key=${encodeURIComponent(data.keyId)}`}`;
  return page(
    view,
    "Usage",
    html`<h1>Usage</h1><p class="lead">Calls, tokens and spend by key, day and model (UTC days). Counts only: no prompt or output is kept.</p>
<div class="inline" style="justify-content:space-between;margin-bottom:14px"><div class="tabs">${[
      1, 7, 30, 90,
    ].map(
      (d) =>
        html`<a href="${query(d)}" class="${d === data.days ? "active" : ""}">${d === 1 ? "Today" : `${d} days`}</a>`,
    )}</div>
<form method="get" action="/portal/usage" class="inline"><input type="hidden" name="days" value="${data.days}"><div class="field"><select name="key" aria-label="Key">
<option value="">All keys</option>${[...data.keyNames].map(([id, name]) => html`<option value="${id}" ${id === data.keyId ? html`selected` : ""}>${name}</option>`)}
</select></div><button type="submit" class="secondary">Filter</button><a class="button secondary" href="${csv}" download>Download CSV</a></form></div>
<div class="grid3">
<div class="card"><div class="stat" id="total-requests">${num(total((r) => r.requests))}</div><div class="stat-label">requests (${num(total((r) => r.failed))} failed)</div></div>
<div class="card"><div class="stat">${num(total((r) => r.inputTokens + r.outputTokens))}</div><div class="stat-label">tokens (${num(total((r) => r.inputTokens))} in, ${num(total((r) => r.outputTokens))} out)</div></div>
<div class="card"><div class="stat" id="total-spend">${usd(total((r) => r.spentMicroUsd))}</div><div class="stat-label">spent</div></div>
</div>
<div class="grid2">
<div class="card">${stackedBars({ title: "Requests per day, by model", categories: dayList, series: seriesBy(rows, dayList, (r) => r.requests), format: (n) => num(n), integer: true })}</div>
<div class="card">${stackedBars({ title: "Spend per day, by model", categories: dayList, series: seriesBy(rows, dayList, (r) => r.spentMicroUsd), format: spend })}</div>
</div>
${
  data.keyId === undefined
    ? html`<div class="card" id="spend-by-key">${stackedBars({
        title: "Spend per day, by key",
        categories: dayList,
        series: seriesBy(
          rows,
          dayList,
          (r) => r.spentMicroUsd,
          (r) => r.keyId,
          (id) => data.keyNames.get(id) ?? id,
        ),
        format: spend,
      })}</div>`
    : ""
}
<div class="card"><h2 style="margin-top:0">By key, day and model</h2><div class="table-wrap"><table id="usage"><thead><tr><th>Day</th><th>Key</th><th>Model</th><th class="num">Requests</th><th class="num">Failed</th><th class="num">Input tokens</th><th class="num">Output tokens</th><th class="num">Images</th><th class="num">Spend</th></tr></thead><tbody>
${
  rows.length === 0
    ? html`<tr><td colspan="9" class="muted">No calls in this period.</td></tr>`
    : [...rows]
        .reverse()
        .map(
          (r) =>
            html`<tr data-key-id="${r.keyId}" data-model="${r.serviceId}"><td class="nowrap">${r.day}</td><td>${data.keyNames.get(r.keyId) ?? r.keyId}</td><td><code>${r.serviceId}</code></td><td class="num">${num(r.requests)}</td><td class="num">${num(r.failed)}</td><td class="num">${num(r.inputTokens)}</td><td class="num">${num(r.outputTokens)}</td><td class="num">${num(r.images)}</td><td class="num">${usd(r.spentMicroUsd)}</td></tr>`,
        )
}</tbody></table></div></div>`,
  );
}

const CSV_HEADER = [
  "day",
  "key_id",
  "key_name",
  "model",
  "requests",
  "failed",
  "input_tokens",
  "output_tokens",
  "images",
  "spent_micro_usd",
];

/** The usage rows as CSV (CRLF line ends, amounts in whole micro-USD). */
export function usageCsv(rows: readonly UsageRow[], keyNames: ReadonlyMap<string, string>): string {
  const lines = rows.map((r) =>
    [
      r.day,
      r.keyId,
      keyNames.get(r.keyId) ?? "",
      r.serviceId,
      r.requests,
      r.failed,
      r.inputTokens,
      r.outputTokens,
      r.images,
      r.spentMicroUsd,
    ]
      .map(csvField)
      .join(","),
  );
  return [CSV_HEADER.join(","), ...lines].map((l) => `${l}\r\n`).join("");
}
