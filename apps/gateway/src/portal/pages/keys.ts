import type { ApiKey } from "../../accounts/records.js";
import type { KeyUsage } from "../../limits/limits.js";
import { formatUsd } from "../../settlement/usd-amount.js";
import { num, usd, when } from "../format.js";
import { type Html, html } from "../html.js";
import { csrfField, page, type View } from "../layout.js";
import { quickStart, snippet } from "./quick-start.js";

export interface KeysPageData {
  readonly keys: readonly { readonly key: ApiKey; readonly usage: KeyUsage | undefined }[];
  readonly baseUrl: string;
  readonly maxKeys: number;
  /** The account's application lets organic checks sample its completions. */
  readonly organicChecks: boolean;
  readonly created?: { readonly name: string; readonly secret: string } | undefined;
  readonly defaults: {
    readonly budgetUsd: string | undefined;
    readonly maxBudgetUsd: string | undefined;
    readonly maxRpm: number | undefined;
  };
}

const limitFields = (
  view: View,
  key: { name: string; rpm: number | null; tpm: number | null; budgetMicroUsd: number | null } | undefined,
  data: KeysPageData,
  idPrefix: string,
) => html`
<div class="field"><label for="${idPrefix}-name">Name</label><input type="text" id="${idPrefix}-name" name="name" maxlength="100" required value="${key?.name ?? ""}" placeholder="production"></div>
<div class="field"><label for="${idPrefix}-rpm">Requests / minute</label><input type="number" id="${idPrefix}-rpm" name="rpm" min="1" step="1" value="${key?.rpm ?? ""}" placeholder="${data.defaults.maxRpm === undefined ? "unlimited" : `up to ${data.defaults.maxRpm}`}"></div>
<div class="field"><label for="${idPrefix}-tpm">Tokens / minute</label><input type="number" id="${idPrefix}-tpm" name="tpm" min="1" step="1" value="${key?.tpm ?? ""}" placeholder="unlimited"></div>
<div class="field"><label for="${idPrefix}-budget">Budget (USD)</label><input type="text" inputmode="decimal" id="${idPrefix}-budget" name="budget" value="${key?.budgetMicroUsd == null ? (key === undefined ? (data.defaults.budgetUsd ?? "") : "") : formatUsd(key.budgetMicroUsd)}" placeholder="${data.defaults.maxBudgetUsd === undefined ? "no budget" : `up to ${data.defaults.maxBudgetUsd}`}"></div>
${csrfField(view)}`;

function keyRow(view: View, data: KeysPageData, { key, usage }: KeysPageData["keys"][number]): Html {
  const active = key.status === "active";
  return html`<tr data-key-id="${key.id}" data-status="${key.status}">
<td><strong>${key.name}</strong><div class="mono muted">${key.prefix}</div></td>
<td>${active ? html`<span class="badge ok">active</span>` : html`<span class="badge muted">revoked</span>`}</td>
<td class="num">${key.rpm ?? "∞"}</td><td class="num">${key.tpm === null ? "∞" : num(key.tpm)}</td>
<td class="num">${usd(usage?.spentMicroUsd ?? 0)} / ${key.budgetMicroUsd === null ? "no budget" : usd(key.budgetMicroUsd)}</td>
<td class="num">${num(usage?.requests ?? 0)}</td>
<td class="nowrap">${when(key.lastUsedAt)}</td>
<td class="right">${
    active
      ? html`<details><summary>Edit</summary><form method="post" action="/portal/keys/${key.id}" class="card" style="margin-top:8px;text-align:left;min-width:240px">${limitFields(view, key, data, key.id)}<button type="submit" class="small">Save</button><div class="hint">Leave a limit empty to lift it.</div></form></details>
<form method="post" action="/portal/keys/${key.id}/revoke" data-confirm="Revoke ${key.name}? Calls with it fail at once." style="margin-top:6px">${csrfField(view)}<button type="submit" class="danger small">Revoke</button></form>`
      : html`<span class="muted">revoked ${when(key.revokedAt)}</span>`
  }</td></tr>`;
}

export function keysPage(view: View, data: KeysPageData): Html {
  const active = data.keys.filter((k) => k.key.status === "active").length;
  const created = data.created
    ? html`<div class="alert secret" role="status" id="new-key"><strong>Your new key “${data.created.name}”. Copy it now: it is shown only once.</strong>
${snippet(data.created.secret, "API key")}
<div>Base URL: <code>${data.baseUrl}</code></div></div>
<div class="card"><h2 style="margin-top:0">Make your first call</h2>${quickStart(data.baseUrl, data.created.secret, "llama-2-13b")}</div>`
    : "";
  return page(
    view,
    "API keys",
    html`<h1>API keys</h1><p class="lead">Keys authenticate calls to <code>${data.baseUrl}</code>. Each key has its own limits and budget; revoking one stops it at once.</p>
${created}
<div class="card"><div class="table-wrap"><table id="keys"><thead><tr><th>Key</th><th>Status</th><th class="num">RPM</th><th class="num">TPM</th><th class="num">Spent / budget</th><th class="num">Requests</th><th>Last used</th><th></th></tr></thead>
<tbody>${data.keys.length === 0 ? html`<tr><td colspan="8" class="muted">No keys yet: create your first one below.</td></tr>` : data.keys.map((k) => keyRow(view, data, k))}</tbody></table></div></div>
<div class="card"><h2 style="margin-top:0">Create a key</h2>${
      active >= data.maxKeys
        ? html`<p class="muted">You hold ${active} active keys, the most allowed. Revoke one to create another.</p>`
        : html`<form method="post" action="/portal/keys" class="inline" id="create-key">${limitFields(view, undefined, data, "new")}<button type="submit">Create key</button></form>
<div class="hint">Empty limits mean unlimited${data.defaults.maxBudgetUsd ? `, up to this portal's caps` : ""}. You can change them later.</div>`
    }</div>
<div class="card" id="organic-checks"><h2 style="margin-top:0">Quality checks on your traffic</h2>
<p>${data.organicChecks ? "On" : "Off"}: ${
      data.organicChecks
        ? "about 2% of your text requests (completions and chats, streamed or not) and their answers may be held in this gateway's memory (never written to disk, dropped within minutes) so the evaluator can check that the node which answered served the model it claims. Nothing is logged or stored."
        : "none of your requests or answers are ever set aside for quality checks."
    }</p>
<form method="post" action="/portal/organic-checks">${csrfField(view)}<input type="hidden" name="enabled" value="${data.organicChecks ? "false" : "true"}"><button type="submit" class="small">${data.organicChecks ? "Turn quality checks off" : "Turn quality checks on"}</button></form></div>`,
  );
}
