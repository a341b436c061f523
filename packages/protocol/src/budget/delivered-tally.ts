import type { RelayUsage } from "../relay/envelope-fields.js";

/**
 * What a tally needs from the budget rule: the relay's input tokens (counted as the reader of the
 * request counts them) and its output cap over all choices.
 *
 * @example
 * ```ts
 * const budget: TallyBudget = { inputTokens: 12, maxOutputTokens: 1000 };
 * ```
 */
export interface TallyBudget {
  readonly inputTokens: number;
  readonly maxOutputTokens: number;
}

interface ChoiceLike {
  readonly index?: unknown;
  readonly text?: unknown;
  readonly finish_reason?: unknown;
  readonly delta?: {
    readonly content?: unknown;
    readonly refusal?: unknown;
    readonly tool_calls?: unknown;
  } | null;
  readonly message?: {
    readonly content?: unknown;
    readonly refusal?: unknown;
    readonly tool_calls?: unknown;
  } | null;
}

/** Choice indexes at or above this are not trusted as indexes (no tier allows that many choices). */
const MAX_CHOICE_INDEX = 4096;

const isText = (value: unknown): value is string => typeof value === "string" && value !== "";
const isCount = (value: unknown): value is number =>
  typeof value === "number" && Number.isSafeInteger(value) && value >= 0;

const WORDS = /\S+/g;

/**
 * The tokens one text part holds at least: one, or its words when it holds several (no token spans
 * two words). A part of one token is one word or less; a chunk that carries several tokens (an
 * engine that sends them together, a node that folds what arrived together) counts them.
 */
function tokensAtLeast(text: string): number {
  return Math.max(1, text.match(WORDS)?.length ?? 0);
}

/** Text pieces of one choice of a chunk or answer: its text, content, refusal and tool-call parts. */
function piecesOf(choice: ChoiceLike): number {
  let n = 0;
  if (isText(choice.text)) n += tokensAtLeast(choice.text);
  const part = choice.delta ?? choice.message;
  if (part !== undefined && part !== null) {
    if (isText(part.content)) n += tokensAtLeast(part.content);
    if (isText(part.refusal)) n += tokensAtLeast(part.refusal);
    if (Array.isArray(part.tool_calls)) {
      for (const call of part.tool_calls as { function?: { name?: unknown; arguments?: unknown } }[]) {
        if (isText(call?.function?.name) || isText(call?.function?.arguments)) n++;
      }
    }
  }
  return n;
}

/**
 * The one definition of what a text relay delivered, kept by everyone who sees the answer pass: the
 * node as its backend answers (for the claim), the gateway's dispatcher as verified chunks arrive,
 * and the front door as chunks reach the client (for billing and metering).
 *
 * - Input tokens: the budget rule's count (`relayBudget`), never the backend's word for it.
 * - Output tokens of an answer delivered whole (a unary answer, or a stream that reached its end):
 *   the `usage.completion_tokens` the answer reported, when it did; otherwise, and always for a
 *   stream cut mid-way, the text pieces received — one per non-empty tool-call part, and per
 *   non-empty `text`, `content` or `refusal` part of each choice of each chunk, one or its words
 *   when it holds several (engines stream one token per piece; a chunk that carries several, as a
 *   node folds them, counts at least its words). Either is capped at the budget's output cap: an
 *   overrun is not paid for.
 * - Finish reasons per choice index, as the answer gave them (`null` until one arrives).
 *
 * So a stream broken after k one-token pieces is billed for k tokens, however they were cut into
 * chunks and whoever broke it, and a stream that completes meters exactly as the same answer would
 * unary.
 *
 * @example
 * ```ts
 * const tally = new DeliveredTally({ inputTokens: 5, maxOutputTokens: 100 });
 * tally.add({ choices: [{ index: 0, delta: { content: "Hel" } }] });
 * tally.add({ choices: [{ index: 0, delta: { content: "lo" } }] });
 * tally.usage(); // { inputTokens: 5, outputTokens: 2 } — the stream was cut: two pieces received
 * ```
 */
export class DeliveredTally {
  readonly #budget: TallyBudget;
  readonly #pieces: number[] = [];
  readonly #finishReasons: (string | null)[] = [];
  #reported: number | undefined;
  #complete = false;
  #chunks = 0;

  constructor(budget: TallyBudget) {
    this.#budget = budget;
  }

  /**
   * A unary answer, delivered whole: its choices' pieces, finish reasons and reported usage.
   *
   * @example
   * ```ts
   * DeliveredTally.ofAnswer(
   *   { choices: [{ index: 0, message: { role: "assistant", content: "Hi" } }], usage: { completion_tokens: 3 } },
   *   { inputTokens: 5, maxOutputTokens: 100 },
   * ).usage(); // { inputTokens: 5, outputTokens: 3 }
   * ```
   */
  static ofAnswer(answer: unknown, budget: TallyBudget): DeliveredTally {
    const tally = new DeliveredTally(budget);
    tally.add(answer);
    tally.complete();
    return tally;
  }

  /**
   * Adds one chunk the reader passed on (a streamed chunk's data, or a whole answer). A chunk
   * with `usage` (the closing usage chunk of a stream) records the reported output tokens.
   *
   * @example
   * ```ts
   * tally.add({ choices: [{ index: 0, text: " world", finish_reason: "stop" }] });
   * ```
   */
  add(chunk: unknown): void {
    this.#chunks += 1;
    if (typeof chunk !== "object" || chunk === null) return;
    const { choices, usage } = chunk as { choices?: unknown; usage?: unknown };
    if (Array.isArray(choices)) {
      choices.forEach((raw: unknown, position) => {
        if (typeof raw !== "object" || raw === null) return;
        const choice = raw as ChoiceLike;
        // An index past any real choice count is a faulty answer: its pieces count at their position.
        const index = isCount(choice.index) && choice.index < MAX_CHOICE_INDEX ? choice.index : position;
        this.#pieces[index] = (this.#pieces[index] ?? 0) + piecesOf(choice);
        if (isText(choice.finish_reason)) this.#finishReasons[index] = choice.finish_reason;
        else this.#finishReasons[index] ??= null;
      });
    }
    if (typeof usage === "object" && usage !== null) {
      const reported = (usage as { completion_tokens?: unknown }).completion_tokens;
      if (isCount(reported)) this.#reported = reported;
    }
  }

  /**
   * Marks the answer as delivered whole (the stream reached its end): the reported usage, if any,
   * then counts instead of the pieces.
   *
   * @example
   * ```ts
   * tally.complete();
   * ```
   */
  complete(): void {
    this.#complete = true;
  }

  /** Whether {@link complete} was called. */
  get isComplete(): boolean {
    return this.#complete;
  }

  /** How many chunks were added, with or without text. */
  get chunks(): number {
    return this.#chunks;
  }

  /** Text pieces received per choice index (0 for a choice that sent none). */
  get pieces(): readonly number[] {
    return Array.from(this.#pieces, (n) => n ?? 0);
  }

  /** Finish reason per choice index, `null` for a choice that gave none. */
  get finishReasons(): readonly (string | null)[] {
    return Array.from(this.#finishReasons, (reason) => reason ?? null);
  }

  /** Output tokens delivered, by the rule above, capped at the budget's output cap. */
  get outputTokens(): number {
    const received = this.#pieces.reduce((sum: number, n) => sum + (n ?? 0), 0);
    const counted = this.#complete && this.#reported !== undefined ? this.#reported : received;
    return Math.min(counted, this.#budget.maxOutputTokens);
  }

  /**
   * The usage to bill, meter and claim.
   *
   * @example
   * ```ts
   * const usage: RelayUsage = tally.usage();
   * ```
   */
  usage(): RelayUsage {
    return { inputTokens: this.#budget.inputTokens, outputTokens: this.outputTokens };
  }
}
