import type { Counter } from "@pocket-ai/runtime";
import type { EngineAnswerFault } from "./engine-answer.js";

/** What the log writes with and how often: a warning per service and rule at most every `everyMs`. */
export interface EngineFaultLogDeps {
  readonly warn: (message: string, fields: Record<string, unknown>) => void;
  /** `pocket_node_engine_answers_refused_total`, by service and rule. */
  readonly counter: Counter;
  readonly everyMs: number;
  readonly now: () => number;
}

/**
 * The operator's record of the engine answers this node refused to sign (`EngineAnswer`): each is
 * counted by service and rule, and the first of a (service, rule) pair in a window is logged as a
 * warning, `ENGINE_ANSWER_REFUSED`, with the service, the rule, the node's own detail (counts,
 * indexes, field names: never the prompt or the output) and how many were only counted since the
 * last warning. An engine that breaks a rule on every call fills no log. The set of pairs is
 * bounded by the services served and the rules. Runs only on a refusal: nothing of it is on a
 * signed answer's path.
 *
 * @example
 * ```ts
 * const faults = new EngineFaultLog({ warn: log.warn, counter, everyMs: 60_000, now: Date.now });
 * faults.note("llama-2-13b", { rule: "TOOL_CALLS_NOT_OFFERED", detail: "choice 0 makes a tool call; …" });
 * ```
 */
export class EngineFaultLog {
  readonly #said = new Map<string, { until: number; held: number }>();

  constructor(private readonly deps: EngineFaultLogDeps) {}

  note(service: string, fault: EngineAnswerFault): void {
    const { rule, detail } = fault;
    this.deps.counter.inc({ service, rule });
    const now = this.deps.now();
    const pair = `${service} ${rule}`;
    const said = this.#said.get(pair);
    if (said !== undefined && now < said.until) {
      said.held += 1;
      return;
    }
    this.#said.set(pair, { until: now + this.deps.everyMs, held: 0 });
    this.deps.warn(
      "the engine's answer breaks a rule the gateway holds the node to: the node refused to sign it (BACKEND_ERROR) and the gateway tries another node; check the engine and its settings",
      {
        code: "ENGINE_ANSWER_REFUSED",
        service,
        rule,
        detail,
        // Refusals of this service for this rule counted, not logged, in the window before this one.
        ...(said === undefined || said.held === 0 ? {} : { heldBack: said.held }),
      },
    );
  }
}
