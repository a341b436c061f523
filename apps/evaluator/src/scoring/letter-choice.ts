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
 * The choice a reply names: a letter at the start (`B`, `(B)`, `B.`), after "answer is", or the
 * last one standing alone; undefined when none of the first `count` letters is named.
 */
export function parseLetter(reply: string, count: number): number | undefined {
  const valid = LETTERS.slice(0, count);
  const text = reply.trim();
  const leading = /^[\s("'*[]*([A-Z])(?![A-Za-z])/.exec(text)?.[1];
  if (leading !== undefined && valid.includes(leading)) return valid.indexOf(leading);
  const stated = /answer(?: is|:)?\s*[("'*[]*([A-Z])(?![A-Za-z])/i.exec(text)?.[1]?.toUpperCase();
  if (stated !== undefined && valid.includes(stated)) return valid.indexOf(stated);
  // Otherwise the last choice letter standing alone ("I think it is B.").
  const alone = [...text.matchAll(/(?:^|[\s(])([A-Z])(?=[.):]|$|\s)/gm)]
    .map((m) => m[1]!)
    .filter((l) => valid.includes(l));
  const last = alone[alone.length - 1];
  if (last !== undefined) return valid.indexOf(last);
  return undefined;
}
