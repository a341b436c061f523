/**
 * Multiple choice asked the way customers ask it: the question with lettered choices and a
 * request for the letter, scored by the letter in the generated text (lm-evaluation-harness's
 * generative multiple-choice variants do the same). Used when customers send no `echo`, so that
 * an `echo` + logprobs request is not a shape only probes send.
 */

const LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";

/**
 * The question (the item's context without a trailing `Answer:` cue, each solved example and the
 * question on one line of prose), its lettered choices on one line, and `instruction` (the
 * request for the letter, drawn from the probe-text pools: `ProbeTexts.letterInstruction`):
 * laid out as a person types a quiz question, not as a benchmark file's line-per-field layout.
 */
export function letterPrompt(
  context: string,
  choices: readonly string[],
  instruction: string,
  completions: boolean,
): string {
  const question = context
    .replace(/\s*Answer:\s*$/, "")
    .trimEnd()
    .split(/\n\s*\n/)
    .map((paragraph) => paragraph.replace(/\s*\n\s*/g, " "))
    .join("\n");
  const listed = choices.map((c, i) => `(${LETTERS[i]}) ${c.trim()}`).join(" ");
  return `${question}\n${listed}\n${instruction}${completions ? " Answer:" : ""}`;
}

/**
 * Whether a capital letter is an English word rather than a choice: the article "A" or the
 * pronoun "I" before a lower-case word ("A spider has…", "I think…").
 */
const englishWord = (letter: string, after: string): boolean =>
  (letter === "A" || letter === "I") && /^\s+[a-z]/.test(after);

/**
 * The choice a reply names: a letter at the start (`B`, `(B)`, `B.`), after "answer is", or the
 * last one standing alone; undefined when none of the first `count` letters is named. The article
 * "a" and the pronoun "I" are words, not choices: "The answer is a dog, so B." names B.
 */
export function parseLetter(reply: string, count: number): number | undefined {
  const valid = LETTERS.slice(0, count);
  const text = reply.trim();
  const leading = /^[\s("'*[]*([A-Z])(?![A-Za-z'’])/.exec(text);
  if (
    leading !== null &&
    valid.includes(leading[1]!) &&
    !englishWord(leading[1]!, text.slice(leading.index + leading[0].length))
  )
    return valid.indexOf(leading[1]!);
  // After "answer is": a capital letter, or a small one set apart ("answer: b", "is (c)"), never
  // the start of a word ("the answer is a dog").
  const stated = /answer(?: is|:)?\s*([("'*[]*)([A-Za-z])(?![A-Za-z'’])/i.exec(text);
  if (stated !== null) {
    const letter = stated[2]!;
    const after = text.slice(stated.index + stated[0].length);
    const small = letter !== letter.toUpperCase();
    const setApart = /[([]/.test(stated[1]!) || /^(?:$|[\s]*$|[.):,!*"'\]])/.test(after);
    if (valid.includes(letter.toUpperCase()) && (!small || setApart))
      return valid.indexOf(letter.toUpperCase());
  }
  // Otherwise the last choice letter standing alone ("I think it is B.").
  const alone = [...text.matchAll(/(?:^|[\s(])([A-Z])(?=[.):]|$|\s)/gm)]
    .filter((m) => !englishWord(m[1]!, text.slice(m.index + m[0].length)))
    .map((m) => m[1]!)
    .filter((l) => valid.includes(l));
  const last = alone[alone.length - 1];
  if (last !== undefined) return valid.indexOf(last);
  return undefined;
}
