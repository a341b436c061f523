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
    const index = (choice as { index?: unknown } | null)?.index;
    if (typeof index !== "number" || !Number.isSafeInteger(index) || index < 0 || index >= expected)
      return `holds a choice numbered ${String(index)}; choices are numbered 0 to ${expected - 1}`;
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
  if (typeof index === "number" && Number.isSafeInteger(index) && index >= 0 && index < expected)
    return undefined;
  return `streams a choice numbered ${String(index)}; choices are numbered 0 to ${expected - 1}`;
}
