import type { OrganicSample } from "@pocket-ai/protocol";
import type { DispatchRequest } from "../relay/dispatcher.js";

export interface OrganicSettings {
  /** Share of eligible customer relays set aside (on by default). */
  readonly share: number;
  /** Application ids that opted out: their relays are never set aside. */
  readonly optOut: readonly string[];
  /** How long a sample waits in memory for an evaluator. */
  readonly heldMs: number;
  /** Most samples held at once (the oldest go first). */
  readonly maxHeld: number;
}

const SAMPLING_FIELDS = ["temperature", "top_p", "max_tokens", "seed"] as const;

/**
 * Organic checks, the gateway's part: a small share of customers' answered completions relays
 * (one prompt, one choice) is held in memory — prompt, output, parameters, the serving node —
 * until an evaluator takes it to score the output against a reference model for the node's
 * service. Nothing is written anywhere; a sample is handed out once and dropped after `heldMs`.
 */
export class OrganicSampler {
  private held: { sample: OrganicSample; until: number }[] = [];

  constructor(
    private readonly settings: OrganicSettings,
    private readonly random: () => number = Math.random,
  ) {}

  offer(
    request: DispatchRequest,
    payload: Record<string, unknown>,
    served: { readonly nodeAddress: string; readonly servedServiceId: string },
    now: number,
  ): void {
    if (request.targetNode !== undefined || request.operation !== "completions") return;
    if (request.application.organicChecks === false || this.settings.optOut.includes(request.application.id))
      return;
    if (this.random() >= this.settings.share) return;
    const prompt = request.body.prompt;
    const choices = payload.choices as { text?: unknown }[] | undefined;
    const output = choices?.length === 1 ? choices[0]?.text : undefined;
    if (typeof prompt !== "string" || typeof output !== "string" || output === "") return;
    if (request.body.echo === true) return;
    const params: Record<string, number> = {};
    for (const field of SAMPLING_FIELDS) {
      const v = request.body[field];
      if (typeof v === "number" && Number.isFinite(v)) params[field] = v;
    }
    this.drop(now);
    this.held.push({
      sample: { nodeAddress: served.nodeAddress, serviceId: served.servedServiceId, prompt, output, params },
      until: now + this.settings.heldMs,
    });
    if (this.held.length > this.settings.maxHeld) this.held.shift();
  }

  /** Hands out (and forgets) up to `max` samples of one node. */
  take(nodeAddress: string, max: number, now: number): OrganicSample[] {
    this.drop(now);
    const out: OrganicSample[] = [];
    this.held = this.held.filter((h) => {
      if (h.sample.nodeAddress !== nodeAddress || out.length >= max) return true;
      out.push(h.sample);
      return false;
    });
    return out;
  }

  private drop(now: number): void {
    this.held = this.held.filter((h) => h.until > now);
  }
}
