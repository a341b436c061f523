import {
  ORGANIC_MAX_CHARS,
  type OrganicSample,
  type OrganicSampleKind,
  organicRequestOf,
} from "@pocket-ai/protocol";
import type { DispatchRequest, DispatchStreamEvent } from "../relay/dispatcher.js";

export interface OrganicSettings {
  /** Share of eligible customer relays set aside (on by default). */
  readonly share: number;
  /** Application ids that opted out: their relays are never set aside. */
  readonly optOut: readonly string[];
  /** How long a sample waits in memory for an evaluator. */
  readonly heldMs: number;
  /** Most samples held at once (past it, the oldest of the node holding the most goes). */
  readonly maxHeld: number;
}

type Asked = NonNullable<ReturnType<typeof organicRequestOf>>;
type Served = { readonly nodeAddress: string; readonly servedServiceId: string };
type Choice = {
  readonly index?: unknown;
  readonly text?: unknown;
  readonly message?: { readonly content?: unknown };
  readonly delta?: { readonly content?: unknown };
};

/**
 * Organic checks, the gateway's part: a small share of customers' answered text relays —
 * completions and chats, unary and streamed, one choice of plain text (`organicRequestOf`) — is
 * held in memory (prompt or messages, output, parameters, the serving node) until an evaluator
 * takes it to score the output against a reference model for the node's service. Nothing is
 * written anywhere; a sample is handed out once and dropped after `heldMs`.
 */
export class OrganicSampler {
  private held: { sample: OrganicSample; until: number }[] = [];

  constructor(
    private readonly settings: OrganicSettings,
    private readonly random: () => number = Math.random,
  ) {}

  /**
   * A unary relay's answer: set aside when the draw picks it and it is of a sampled shape. Its
   * `finish_reason` decides nothing: it is the node's own word, and a node that ended its
   * customers' answers with `content_filter` would otherwise keep every one of them from a check.
   * Nor does a tool call: a sampled chat offers no tools, so one in the reply is the node's own
   * addition, and its text is checked all the same.
   */
  offer(request: DispatchRequest, payload: Record<string, unknown>, served: Served, now: number): void {
    const asked = this.draw(request);
    if (asked === undefined) return;
    const choices = payload.choices as Choice[] | undefined;
    const choice = choices?.length === 1 ? choices[0] : undefined;
    if (choice === undefined) return;
    const output = asked.kind === "chat" ? choice.message?.content : choice.text;
    if (typeof output === "string") this.hold(asked, output, false, served, now);
  }

  /**
   * A stream about to be passed to the client: decided here, once, whether it is sampled. For an
   * unsampled stream (nearly all) the answer is `undefined` and nothing watches its chunks; a
   * sampled one gets a function to pass each event through, which gathers choice 0's delivered
   * text (dropping the sample past `ORGANIC_MAX_CHARS`) and sets the sample aside only when the
   * stream ended normally (an `ok` final, which the node signs). The finish reason decides nothing:
   * a node could leave it out, or say `content_filter`, on every customer's stream to escape checks;
   * nor does a tool call the request never offered (see {@link OrganicSampler.offer}).
   */
  watch(
    request: DispatchRequest,
    now: () => number,
  ): ((event: DispatchStreamEvent) => DispatchStreamEvent) | undefined {
    const asked = this.draw(request);
    if (asked === undefined) return undefined;
    let parts: string[] | undefined = [];
    let chars = 0;
    return (event) => {
      if (parts === undefined) return event;
      if (event.type === "final") {
        if (event.outcome === "ok" && event.record !== undefined)
          this.hold(asked, parts.join(""), true, event.record, now());
        parts = undefined;
        return event;
      }
      const choices = event.data.choices;
      if (!Array.isArray(choices)) return event;
      for (const choice of choices as Choice[]) {
        const text = asked.kind === "chat" ? choice.delta?.content : choice.text;
        chars += typeof text === "string" ? text.length : 0;
        if ((choice.index ?? 0) !== 0 || chars > ORGANIC_MAX_CHARS) {
          parts = undefined;
          return event;
        }
        if (typeof text === "string" && text !== "") parts.push(text);
      }
      return event;
    };
  }

  /**
   * Hands out (and forgets) up to `max` samples of one node, of the kinds the caller can score
   * (older evaluators read completions samples only), and of one service it serves when
   * `serviceId` is given: a node serving two models is checked per service, each against that
   * service's reference, and the other service's samples stay for its own check.
   */
  take(
    nodeAddress: string,
    max: number,
    now: number,
    kinds: readonly OrganicSampleKind[] = ["completions"],
    serviceId?: string,
  ): OrganicSample[] {
    this.drop(now);
    const out: OrganicSample[] = [];
    this.held = this.held.filter((h) => {
      const kind = h.sample.kind ?? "completions";
      if (h.sample.nodeAddress !== nodeAddress || !kinds.includes(kind) || out.length >= max) return true;
      if (serviceId !== undefined && h.sample.serviceId !== serviceId) return true;
      out.push(h.sample);
      return false;
    });
    return out;
  }

  /** The request's part of a sample when this relay is drawn and of a sampled shape. */
  private draw(request: DispatchRequest): Asked | undefined {
    if (request.targetNode !== undefined) return undefined;
    if (request.application.organicChecks === false || this.settings.optOut.includes(request.application.id))
      return undefined;
    if (this.random() >= this.settings.share) return undefined;
    return organicRequestOf(request.operation, request.body);
  }

  private hold(asked: Asked, output: string, stream: boolean, served: Served, now: number): void {
    if (output === "" || output.length > ORGANIC_MAX_CHARS) return;
    const common = { nodeAddress: served.nodeAddress, serviceId: served.servedServiceId, output };
    const sample: OrganicSample =
      asked.kind === "chat"
        ? { kind: "chat", ...common, messages: asked.messages, params: asked.params, stream }
        : { kind: "completions", ...common, prompt: asked.prompt, params: asked.params, stream };
    this.drop(now);
    this.held.push({ sample, until: now + this.settings.heldMs });
    if (this.held.length > this.settings.maxHeld) this.evictFromBusiest();
  }

  /**
   * Drops the oldest sample of the node holding the most. Dropping the oldest of all would leave a
   * quiet node's few samples to be pushed out by the busy nodes' (or by one customer's flood)
   * before an evaluator takes them, and a node nobody's samples reach is never checked.
   */
  private evictFromBusiest(): void {
    const counts = new Map<string, number>();
    for (const h of this.held) counts.set(h.sample.nodeAddress, (counts.get(h.sample.nodeAddress) ?? 0) + 1);
    let busiest: string | undefined;
    let most = 0;
    for (const [address, n] of counts)
      if (n > most) {
        busiest = address;
        most = n;
      }
    const oldest = this.held.findIndex((h) => h.sample.nodeAddress === busiest);
    if (oldest >= 0) this.held.splice(oldest, 1);
  }

  private drop(now: number): void {
    this.held = this.held.filter((h) => h.until > now);
  }
}
