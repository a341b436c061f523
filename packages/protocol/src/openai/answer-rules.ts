/**
 * Rules of a text answer that need nothing but its own text, which the gateway holds a node to
 * before it pays, and the node holds its engine to before it signs (so that an engine's lie is
 * refused at the node, as the engine's, not sanctioned at the gateway as the node's). One copy
 * here, so that the two sides never drift apart.
 */

/**
 * Output tokens per choice an honest count may reach beyond the text's UTF-8 bytes: an
 * end-of-sequence and a special token, which carry no text. No token is shorter than a byte, so
 * usage above `bytes + HONEST_OUTPUT_SLACK_PER_CHOICE × choices` is inflated.
 */
export const HONEST_OUTPUT_SLACK_PER_CHOICE = 2;

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

const hasText = (value: unknown) => typeof value === "string" && value !== "";

/**
 * Whether an answer or chunk has a top-level `error` member (other than `null`): OpenAI clients
 * read it as the API's own error (a streaming SDK throws it with its code), so an answer that a
 * node signs and is paid for must not carry one. Only the gateway writes errors.
 *
 * @example
 * ```ts
 * carriesErrorMember({ choices: [], error: { message: "x" } }); // true
 * carriesErrorMember({ choices: [], error: null }); // false
 * ```
 */
export function carriesErrorMember(data: unknown): boolean {
  return isRecord(data) && Object.hasOwn(data, "error") && data.error !== null && data.error !== undefined;
}

/** Whether a choice (of a chunk or a whole answer) carries anything a client reads: text, a refusal or tool calls. */
function carriesOutput(choice: Record<string, unknown>): boolean {
  if (hasText(choice.text)) return true;
  const part = isRecord(choice.delta) ? choice.delta : isRecord(choice.message) ? choice.message : undefined;
  if (part === undefined) return false;
  return (
    hasText(part.content) ||
    hasText(part.refusal) ||
    (Array.isArray(part.tool_calls) && part.tool_calls.length > 0)
  );
}

/**
 * The choices of a stream whose `finish_reason` came: a chunk that carries output for one of them
 * is a lie about a finished choice (a client that stops at the finish, as many do, would pay for an
 * answer that went on).
 *
 * @example
 * ```ts
 * const finished = new OutputAfterFinish();
 * finished.add({ choices: [{ index: 0, text: "Hi", finish_reason: "stop" }] }); // undefined
 * finished.add({ choices: [{ index: 0, text: " more" }] }); // "choice 0 streamed output after its finish_reason"
 * ```
 */
export class OutputAfterFinish {
  readonly #finished = new Set<number>();

  /** Why `data` carries output after a choice's finish, or `undefined`; records the finishes it brings. */
  add(data: unknown): string | undefined {
    const choices = isRecord(data) && Array.isArray(data.choices) ? data.choices : [];
    for (const choice of choices) {
      if (isRecord(choice) && this.#finished.has(choice.index as number) && carriesOutput(choice))
        return `choice ${String(choice.index)} streamed output after its finish_reason`;
    }
    for (const choice of choices) {
      if (isRecord(choice) && typeof choice.finish_reason === "string")
        this.#finished.add(choice.index as number);
    }
    return undefined;
  }
}
