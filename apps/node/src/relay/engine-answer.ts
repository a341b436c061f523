import {
  carriesErrorMember,
  HONEST_OUTPUT_SLACK_PER_CHOICE,
  OutputAfterFinish,
  type RelayUsage,
} from "@pocket-ai/protocol";
import { DeliveredText } from "@pocket-ai/tokens";

/** What a text relay's engine answer is held to: its output cap, its choices, whether it echoes. */
export interface AnswerBounds {
  /** Output tokens allowed over all choices. */
  readonly maxOutputTokens: number;
  /** Choices asked for (prompts × n). */
  readonly choices: number;
  /** A completions call with `echo`: its text holds the prompt, so no output bound is read from it. */
  readonly echoes: boolean;
}

/**
 * The node signs what its engine answers, so an engine's lie would be the node's, and the gateway
 * refuses it and sanctions the node (`docs/security.md`, "What the gateway counts itself"). These
 * are the gateway's checks that need nothing but the text, run on the engine's answer (or each
 * stream piece) before the node signs it:
 *
 * - no top-level `error` member beside the choices (clients read it as the API's own error);
 * - no output for a choice after its `finish_reason`;
 * - no more text than the output cap allows: the words and pieces of the text are a lower bound of
 *   any tokenizer's count, so an answer over the cap by them was not made under the `max_tokens`
 *   the node asked for;
 * - no output tokens declared beyond the text's UTF-8 bytes plus two per choice (no honest count is
 *   higher): the usage is cut to that bound instead ({@link EngineAnswer.usage}).
 *
 * An honest engine never fails these; one that does gets a signed `BACKEND_ERROR` (or a stream's
 * `STREAM_INTERRUPTED` once text went out), which the gateway retries elsewhere without a sanction.
 */
export class EngineAnswer {
  // Counts only (words, pieces, bytes): the node needs no copy of the text it signs and passes on.
  readonly #text = new DeliveredText({ keepText: false });
  readonly #finished = new OutputAfterFinish();

  constructor(readonly bounds: AnswerBounds) {}

  /** Adds an answer or a stream piece; why the node must not sign it, or `undefined`. */
  add(data: unknown): string | undefined {
    if (!isRecord(data)) return undefined;
    if (carriesErrorMember(data)) return "carries an `error` member beside its choices";
    const late = this.#finished.add(data);
    if (late !== undefined) return late;
    this.#text.add(data);
    const { maxOutputTokens, echoes } = this.bounds;
    if (!echoes && this.#text.lowerBound > maxOutputTokens)
      return `holds at least ${this.#text.lowerBound} output tokens; the call allowed ${maxOutputTokens}`;
    return undefined;
  }

  /** `usage` with its output tokens cut to what the text added so far can hold. */
  usage(usage: RelayUsage): RelayUsage {
    if (this.bounds.echoes) return usage;
    const most = this.#text.provableMax + HONEST_OUTPUT_SLACK_PER_CHOICE * Math.max(1, this.bounds.choices);
    return usage.outputTokens <= most ? usage : { ...usage, outputTokens: most };
  }
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);
