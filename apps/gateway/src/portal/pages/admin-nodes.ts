import type { NodeScore } from "@pocket-ai/protocol";
import type { ForgottenCursor, ForgottenNode, NodeHealth } from "../../registry/node-registry.js";
import type { RegisteredNode } from "../../registry/registered-node.js";
import { duration } from "../../registry/registry-errors.js";
import type { NodeStatsView } from "../../routing/node-stats.js";
import { num, pct, when } from "../format.js";
import { type Html, html } from "../html.js";
import { page, type View } from "../layout.js";
import { scoreBar } from "../svg-charts.js";

export interface NodeRow {
  readonly node: RegisteredNode;
  readonly fresh: boolean;
  readonly health: NodeHealth;
  readonly stats: NodeStatsView;
  readonly scores: readonly NodeScore[];
}

/** What the evaluator found about a node's identity, as short labelled findings. */
export function identityFindings(
  score: NodeScore,
): { readonly label: string; readonly level: "ok" | "warn" | "bad" }[] {
  const out: { label: string; level: "ok" | "warn" | "bad" }[] = [];
  const id = score.identity;
  if (id.modelTest === "inconsistent")
    out.push({
      label: `not the declared model${id.declaredModel ? ` (${id.declaredModel})` : ""}, p = ${id.modelTestPValue?.toPrecision(2) ?? "?"}`,
      level: "bad",
    });
  if (id.modelTest === "consistent") out.push({ label: "declared model consistent", level: "ok" });
  if (id.sharedBackendGroup !== null)
    out.push({ label: `shares a backend (group ${id.sharedBackendGroup})`, level: "warn" });
  if (id.cachedAnswers === true) out.push({ label: "cached answers", level: "bad" });
  // The evaluator had no way to check its answers to customers, so it granted no quality tier.
  if (id.organicCheck === "none") out.push({ label: "customers unchecked: no quality tiers", level: "warn" });
  if (score.loglikelihood === "unsupported") out.push({ label: "no prompt logprobs", level: "warn" });
  return out;
}

function nodeRow(row: NodeRow): Html {
  const { node, health, stats } = row;
  const sanctioned = stats.sanctionedUntil !== undefined;
  const latency = Object.entries(stats.latencyMs)
    .map(([k, v]) => `${k} ${num(v)} ms`)
    .join(", ");
  const hw = node.announcement.hardware;
  return html`<tr data-node="${node.address}">
<td><div class="mono">${node.address.slice(0, 16)}…${node.address.slice(-6)}</div><div class="muted">${node.operator ?? "no operator"} · ${node.endpoint}</div>
<div class="muted">${hw.gpu}${hw.vramGb > 0 ? `, ${hw.vramGb} GB` : ""}${hw.cpuOnly ? ", CPU only" : ""}</div></td>
<td>${[...node.offers.values()].map((o) => html`<div><code>${o.serviceId}</code> <span class="muted">${o.tiers.join(", ")}</span></div>`)}</td>
<td>${
    !row.fresh
      ? html`<span class="badge muted">stale</span>`
      : health.healthy
        ? html`<span class="badge ok">healthy</span>`
        : html`<span class="badge bad">unhealthy</span>`
  }${sanctioned ? html`<div><span class="badge bad">sanctioned</span></div><div class="muted">${stats.sanctionReason ?? ""}, until ${when(stats.sanctionedUntil)}</div>` : ""}</td>
<td class="nowrap">${latency || "—"}${health.latencyMs !== undefined ? html`<div class="muted">probe ${num(health.latencyMs)} ms</div>` : ""}</td>
<td class="num">${pct(stats.errorRate)}<div class="muted">${num(stats.failures)} of ${num(stats.relays)}</div></td>
<td>${
    row.scores.length === 0
      ? html`<span class="muted">not scored</span>`
      : row.scores.map(
          (s) =>
            html`<div class="nowrap"><code>${s.serviceId}</code> ${scoreBar(s.overall)} <span class="mono">${s.overall ? `${s.overall.mean.toFixed(2)} [${s.overall.lower.toFixed(2)}, ${s.overall.upper.toFixed(2)}]` : ""}</span></div>${
              s.qualifies.length > 0
                ? html`<div class="muted">qualifies: ${s.qualifies.join(", ")}</div>`
                : ""
            }`,
        )
  }</td>
<td>${row.scores.flatMap(identityFindings).map((f) => html`<div class="finding ${f.level}">${f.label}</div>`)}${
    row.scores.length > 0 && row.scores.flatMap(identityFindings).length === 0
      ? html`<span class="muted">none</span>`
      : ""
  }</td></tr>`;
}

export function adminNodesPage(
  view: View,
  data: {
    readonly rows: readonly NodeRow[];
    readonly now: number;
    /** `routing.forgetNodesAfterMs`: nodes quiet longer are on the forgotten nodes page instead. */
    readonly forgetAfterMs: number;
    readonly scores: {
      evaluator: string | undefined;
      fetchedAt: number | undefined;
      lastError: string | undefined;
    };
  },
): Html {
  const healthy = data.rows.filter((r) => r.fresh && r.health.healthy).length;
  const sanctioned = data.rows.filter((r) => r.stats.sanctionedUntil !== undefined).length;
  return page(
    view,
    "Nodes",
    html`<h1>Nodes</h1><p class="lead">Every node registered with this gateway: health, what this gateway observed (latency, errors, sanctions) and what the evaluator measured (scores with 95% intervals, identity findings).</p>
<div class="grid3"><div class="card"><div class="stat">${data.rows.length}</div><div class="stat-label">registered nodes</div></div>
<div class="card"><div class="stat">${healthy}</div><div class="stat-label">healthy and fresh</div></div>
<div class="card"><div class="stat">${sanctioned}</div><div class="stat-label">sanctioned now</div></div></div>
<div class="card"><div class="muted" style="margin-bottom:8px">Evaluator: ${data.scores.evaluator ?? "none configured or not reached yet"}${data.scores.fetchedAt ? ` · scores fetched ${when(data.scores.fetchedAt)}` : ""}${data.scores.lastError ? ` · last poll failed: ${data.scores.lastError}` : ""}</div>
<div class="table-wrap"><table id="nodes"><thead><tr><th>Node</th><th>Services</th><th>State</th><th>Latency</th><th class="num">Errors</th><th>Evaluator score</th><th style="min-width:190px">Identity findings</th></tr></thead>
<tbody>${data.rows.length === 0 ? html`<tr><td colspan="7" class="muted">No node has registered yet.</td></tr>` : data.rows.map(nodeRow)}</tbody></table></div></div>
<p class="muted">A node that has not announced for ${duration(data.forgetAfterMs)} (<code>routing.forgetNodesAfterMs</code>) is forgotten and not listed here: <a href="/portal/admin/nodes/forgotten" id="forgotten-link">forgotten nodes</a>.</p>`,
  );
}

/** The `?at=…&address=…` of the forgotten nodes page that starts after `cursor`. */
export function forgottenPageHref(cursor: ForgottenCursor): string {
  const query = new URLSearchParams({ at: String(cursor.lastAnnouncedAt), address: cursor.address });
  return `/portal/admin/nodes/forgotten?${query.toString()}`;
}

/**
 * Nodes this gateway forgot (`admin.nodes.forgotten`), newest announcement first, a page at a
 * time: `next` is where the following page starts, when there is one.
 */
export function adminForgottenNodesPage(
  view: View,
  data: {
    readonly nodes: readonly ForgottenNode[];
    readonly forgetAfterMs: number;
    readonly first: boolean;
    readonly next: ForgottenCursor | undefined;
  },
): Html {
  const row = (n: ForgottenNode) => html`<tr data-node="${n.address}">
<td class="mono">${n.address}</td><td>${n.operator ?? html`<span class="muted">none</span>`}</td><td class="mono">${n.endpoint}</td>
<td class="nowrap">${when(n.registeredAt)}</td><td class="nowrap">${when(n.lastAnnouncedAt)}</td>
<td>${n.status === "removed" ? html`<span class="badge bad">removed</span><div class="muted">its endpoint answered as another node</div>` : html`<span class="badge muted">forgotten</span>`}</td></tr>`;
  return page(
    view,
    "Forgotten nodes",
    html`<h1>Forgotten nodes</h1><p class="lead">Nodes that have not announced for ${duration(data.forgetAfterMs)} (<code>routing.forgetNodesAfterMs</code>), newest announcement first. This gateway no longer loads, probes or routes to them; their rows are kept, so their claims are still taken. A node that announces again is known again. <a href="/portal/admin/nodes">Back to the nodes</a>.</p>
<div class="card"><div class="table-wrap"><table id="forgotten-nodes"><thead><tr><th>Node</th><th>Operator</th><th>Endpoint</th><th>Registered</th><th>Last announced</th><th>State</th></tr></thead>
<tbody>${data.nodes.length === 0 ? html`<tr><td colspan="6" class="muted">${data.first ? "No node has been forgotten." : "No more forgotten nodes."}</td></tr>` : data.nodes.map(row)}</tbody></table></div>
<div class="tabs">${data.first ? "" : html`<a href="/portal/admin/nodes/forgotten">First page</a>`}${data.next === undefined ? "" : html`<a href="${forgottenPageHref(data.next)}" id="forgotten-next">Next page</a>`}</div></div>`,
  );
}
