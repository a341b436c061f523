import type { Counter } from "@pocket-ai/runtime";
import type { InvalidNodeResponse } from "./attempt-errors.js";

/** One answer or stream the gateway refused, and where it was going. */
export interface RefusedAnswer {
  readonly failure: InvalidNodeResponse;
  /** The service and tier the node served the relay under. */
  readonly serviceId: string;
  readonly tierId: string;
  /** The front door's request id (absent for a relay of the gateway's own). */
  readonly requestId?: string | undefined;
  /** A stream cut after its first byte reached the client (else the answer was refused before any). */
  readonly cut: boolean;
}

/** What the log writes with and how often: a warning per node and reason at most every `everyMs`. */
export interface RefusedAnswerLogDeps {
  readonly warn: (message: string, fields: Record<string, unknown>) => void;
  /** `pocket_gateway_node_refused_answers_total`, by node and reason. */
  readonly counter: Counter;
  readonly everyMs: number;
  readonly now: () => number;
}

/** Pairs of node and reason remembered at most: a new pair past it is counted, not logged, until some expire. */
const MAX_PAIRS = 10_000;

/**
 * The operator's record of the answers the gateway refused: every refusal is counted by node and
 * reason; the first of a (node, reason) pair is logged as a warning, with the node, service, tier,
 * reason, the gateway's own detail and the request id (never the prompt, the output or any text
 * of the node's); later ones of the pair within `everyMs` are only counted, and the next warning
 * says how many were held back. A hostile node cannot flood the log: at most one line per reason
 * per window. Runs only on a refusal: nothing of it is on an accepted answer's path.
 *
 * @example
 * ```ts
 * const log = new RefusedAnswerLog({ warn: log.warn, counter, everyMs: 60_000, now: Date.now });
 * log.note({ failure, serviceId: "llama-2-13b", tierId: "standard", requestId, cut: false });
 * ```
 */
export class RefusedAnswerLog {
  readonly #said = new Map<string, { until: number; held: number }>();

  constructor(private readonly deps: RefusedAnswerLogDeps) {}

  note(refused: RefusedAnswer): void {
    const { nodeAddress: node, reason, detail } = refused.failure;
    this.deps.counter.inc({ node, reason });
    const now = this.deps.now();
    const pair = `${node} ${reason}`;
    const said = this.#said.get(pair);
    if (said !== undefined && now < said.until) {
      said.held += 1;
      return;
    }
    if (said === undefined && !this.#room(now)) return;
    this.#said.set(pair, { until: now + this.deps.everyMs, held: 0 });
    this.deps.warn(
      refused.cut
        ? "node stream cut: a chunk failed the gateway's checks"
        : "node answer refused: it failed the gateway's checks",
      {
        node,
        service: refused.serviceId,
        tier: refused.tierId,
        reason,
        detail,
        ...(refused.requestId === undefined ? {} : { requestId: refused.requestId }),
        // Refusals of this node for this reason counted, not logged, in the window before this one.
        ...(said === undefined || said.held === 0 ? {} : { heldBack: said.held }),
      },
    );
  }

  /** Whether a new pair may be remembered: past `MAX_PAIRS`, the expired ones are dropped first. */
  #room(now: number): boolean {
    if (this.#said.size < MAX_PAIRS) return true;
    for (const [pair, said] of this.#said) if (now >= said.until) this.#said.delete(pair);
    return this.#said.size < MAX_PAIRS;
  }
}
