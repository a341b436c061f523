import {
  type Catalog,
  isEmbeddingTier,
  isImageTier,
  modelNameFor,
  type ScoreEstimate,
  type ServiceSpec,
  type TierSpec,
} from "@pocket-ai/protocol";
import { num, usd } from "../format.js";
import { type Html, html } from "../html.js";
import { page, type View } from "../layout.js";
import { scoreBar } from "../svg-charts.js";
import { quickStart } from "./quick-start.js";

/** One measured node of a service: its evaluator score (overall, or the quality level's category). */
export interface MeasuredNode {
  readonly address: string;
  readonly estimate: ScoreEstimate | undefined;
}

export interface CatalogPageData {
  readonly catalog: Catalog;
  readonly baseUrl: string;
  /** Healthy nodes able to serve a public model name now. */
  readonly nodesFor: (modelName: string) => number;
  readonly measured: ReadonlyMap<string, readonly MeasuredNode[]>;
  readonly evaluator: string | undefined;
}

const CLASS_LABEL: Record<ServiceSpec["class"], string> = {
  model: "named model",
  quality: "quality level",
  skill: "skill",
};

const limitsText = (tier: TierSpec) =>
  isImageTier(tier)
    ? `up to ${tier.limits.maxWidth}×${tier.limits.maxHeight}, ${tier.limits.maxImages} images, ${tier.limits.maxSteps} steps`
    : isEmbeddingTier(tier)
      ? `${num(tier.limits.maxInputs)} inputs of ${num(tier.limits.maxTokensPerInput)} tokens, ${num(tier.limits.dimensions)} dimensions`
      : `${num(tier.limits.maxInputTokens)} input / ${num(tier.limits.maxOutputTokens)} output tokens`;

const hardwareText = (tier: TierSpec) =>
  `${tier.hardware.gpuClass}${tier.hardware.minVramGb > 0 ? `, ≥ ${tier.hardware.minVramGb} GB VRAM` : ""}${tier.hardware.cpuAcceptable ? ", CPU acceptable" : ""}`;

function serviceCard(data: CatalogPageData, service: ServiceSpec): Html {
  const measured = data.measured.get(service.id) ?? [];
  return html`<section class="card" id="svc-${service.id}" data-service="${service.id}">
<div class="inline" style="justify-content:space-between"><div><h2 style="margin:0">${service.displayName}</h2><div class="muted"><code>${service.id}</code> · ${service.kind} · <span class="badge">${CLASS_LABEL[service.class]}</span></div></div>
${service.quality ? html`<div class="muted right">Bar: ${service.quality.category} score ≥ <strong>${service.quality.minScore.toFixed(2)}</strong> (lower 95% bound), named after ${service.quality.reference}</div>` : ""}</div>
<p>${service.description}</p>
<div class="table-wrap"><table><thead><tr><th>Model name</th><th>Tier</th><th class="num">Price</th><th>Limits</th><th>Hardware guidance</th><th class="num">Nodes now</th></tr></thead><tbody>
${service.tiers.map((tier) => {
  const name = modelNameFor(service.id, tier.id);
  const nodes = data.nodesFor(name);
  return html`<tr><td><code>${name}</code></td><td><strong>${tier.id}</strong><div class="muted">${tier.description}</div></td><td class="num nowrap">${usd(tier.priceMicroUsd)}<div class="muted">per ${service.kind === "image" ? "standard image" : "call"}</div></td><td>${limitsText(tier)}</td><td>${hardwareText(tier)}<div class="muted">${tier.hardware.notes}</div></td><td class="num">${nodes > 0 ? html`<span class="badge ok">${nodes}</span>` : html`<span class="badge muted">0</span>`}</td></tr>`;
})}</tbody></table></div>
${
  measured.length === 0
    ? html`<p class="muted" style="margin-bottom:0">No evaluator scores yet for this service.</p>`
    : html`<h3>Evaluator scores (mean with 95% confidence interval)</h3><table class="scores"><tbody>${measured.map(
        (m) =>
          html`<tr><td class="mono">${m.address.slice(0, 14)}…${m.address.slice(-6)}</td><td>${scoreBar(m.estimate)}</td><td class="mono">${m.estimate ? `${m.estimate.mean.toFixed(2)} [${m.estimate.lower.toFixed(2)}, ${m.estimate.upper.toFixed(2)}]` : "—"}</td><td class="muted">${m.estimate ? `n = ${m.estimate.n}` : ""}</td></tr>`,
      )}</tbody></table>`
}</section>`;
}

export function catalogPage(view: View, data: CatalogPageData): Html {
  const byClass = (c: ServiceSpec["class"]) => data.catalog.services.filter((s) => s.class === c);
  return page(
    view,
    "Models",
    html`<h1>Models and quality levels</h1>
<p class="lead">Buy a named model, or a measured quality level that any node clearing its bar may serve. Every model has a <strong>standard</strong> tier (GPU) and most a cheaper <strong>batch</strong> tier. Scores come from ${data.evaluator ? html`the evaluator <code>${data.evaluator}</code>` : "the evaluator, once it has measured the nodes"}.</p>
<p><a href="#quick-start">Quick start for the openai SDK and curl ↓</a></p>
<h2>Named models</h2>${byClass("model").map((s) => serviceCard(data, s))}
<h2>Quality levels and skills</h2>${[...byClass("quality"), ...byClass("skill")].map((s) => serviceCard(data, s))}
<div class="card" id="quick-start"><h2 style="margin-top:0">Quick start</h2><p class="muted">Any OpenAI client works: set the base URL and your key${view.user ? html` (<a href="/portal/keys">create one</a>)` : html` (<a href="/portal/#signup">sign up</a> to get one)`}, here read from <code>OPENAI_API_KEY</code>.</p>${quickStart(data.baseUrl, undefined, "llama-2-13b")}</div>`,
  );
}
