/**
 * Why a text answer does not hold the choices its request asked for, or `undefined` when it does:
 * `expected` choices (a batch of prompts × `n`, see `relayOutputCap`), numbered 0…expected-1, each
 * once. An answer with fewer choices than prompts is paid as the whole batch, so whoever can count
 * them — the node before it signs, the gateway before it pays — does.
 *
 * @example
 * ```ts
 * answerChoicesMismatch({ choices: [{ index: 0, text: "a" }] }, 2);
 * // "holds 1 choices; the request asked for 2 (prompts × n)"
 * ```
 */
export function answerChoicesMismatch(payload: unknown, expected: number): string | undefined {
  const choices = (payload as { choices?: unknown } | null)?.choices;
  if (!Array.isArray(choices)) return "holds no choices array";
  if (choices.length !== expected)
    return `holds ${choices.length} choices; the request asked for ${expected} (prompts × n)`;
  // Allocated only once the answer holds `expected` choices: as large as the answer itself.
  const seen = new Uint8Array(expected);
  for (const choice of choices) {
    const index = indexOf(choice);
    if (!isChoiceIndex(index, expected))
      return `holds a choice numbered ${labelOf(index)}; choices are numbered 0 to ${expected - 1}`;
    if (seen[index] === 1) return `holds choice ${index} twice`;
    seen[index] = 1;
  }
  return undefined;
}

/**
 * Why one streamed chunk's choice index cannot belong to a stream of `expected` choices, or
 * `undefined`. See {@link answerChoicesMismatch}.
 */
export function chunkChoiceOutOfRange(index: unknown, expected: number): string | undefined {
  if (isChoiceIndex(index, expected)) return undefined;
  return `streams a choice numbered ${labelOf(index)}; choices are numbered 0 to ${expected - 1}`;
}

/**
 * The choices a stream delivered so far, against the `expected` (prompts × n) asked for: each
 * chunk's choices must be ones asked for, and a stream that ends `ok` must have delivered each.
 * Keeps as many entries as choices came, never the count asked for up front (a huge batch costs
 * nothing until its chunks do). The node counts its engine's pieces with it before it signs them;
 * the gateway, the node's chunks.
 *
 * @example
 * ```ts
 * const choices = new StreamedChoices(2);
 * choices.add({ choices: [{ index: 0, text: "a" }] }); // undefined
 * choices.seen; // 1: one of the 2 still to come before an `ok` end
 * ```
 */
export class StreamedChoices {
  readonly #seen = new Set<number>();
  constructor(readonly expected: number) {}

  /** How many of the choices asked for delivered a chunk. */
  get seen(): number {
    return this.#seen.size;
  }

  /** Counts a chunk's choices; why one was not asked for, or `undefined`. */
  add(chunk: unknown): string | undefined {
    const choices = (chunk as { choices?: unknown } | null)?.choices;
    if (!Array.isArray(choices)) return undefined;
    for (const choice of choices) {
      const index = indexOf(choice);
      const out = chunkChoiceOutOfRange(index, this.expected);
      if (out !== undefined) return out;
      this.#seen.add(index as number);
    }
    return undefined;
  }
}

const indexOf = (choice: unknown) => (choice as { index?: unknown } | null)?.index;

/**
 * An index as a reason names it: a number as written; anything else by its type only, so that no
 * text from an engine or node rides in a signed error or a log line.
 */
const labelOf = (index: unknown) =>
  typeof index === "number" || index === null || index === undefined ? String(index) : `(a ${typeof index})`;

const isChoiceIndex = (index: unknown, expected: number): index is number =>
  typeof index === "number" && Number.isSafeInteger(index) && index >= 0 && index < expected;
