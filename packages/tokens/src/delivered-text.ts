import { utf8Length } from "@pocket-ai/protocol";
import type { FamilyTokenizer } from "./family-tokenizer.js";

/**
 * How a reader without the engine counts delivered output. `exact`: the tokenizer the node declared
 * it counts with, when the reader has it — its count proves an overrun. `family`: the served
 * model's family tokenizer, when known — its count caps what is billed. Without either, the
 * bounds below stand in (see {@link DeliveredText.count}).
 *
 * @example
 * ```ts
 * const bounds: OutputBounds = { exact: familyTokenizer("llama-2"), family: familyTokenizer("llama-2") };
 * ```
 */
export interface OutputBounds {
  readonly exact?: FamilyTokenizer | undefined;
  readonly family?: FamilyTokenizer | undefined;
}

/**
 * The reader's own counts of an answer: `atLeast` — the lower bound, or the exact tokenizer's
 * encoding of the text when higher (an engine that sampled another spelling of the text may have
 * counted fewer: only {@link DeliveredText.fewest} proves an overrun); `atMost` — no honest bill is
 * higher.
 *
 * @example
 * ```ts
 * const counted: DeliveredBounds = { atLeast: 12, atMost: 14 };
 * ```
 */
export interface DeliveredBounds {
  readonly atLeast: number;
  readonly atMost: number;
}

/**
 * Picks the bounds for a served model: a node that declares it counts with the family's own
 * tokenizer (kind `llama-2` or `mistral`) is counted exactly; otherwise the family only caps
 * billing. A node counting with its engine's tokenizer (`backend`) found no family of ours in its
 * model's family or name (a node that does counts with it): its engine's vocabulary may be another
 * (an extended one, a newer one under an old name), so the family's count proves nothing about it.
 *
 * @example
 * ```ts
 * outputBounds({ kind: "llama-2", exact: true }, familyTokenizer("llama-2")); // { exact: llama-2, family: llama-2 }
 * outputBounds({ kind: "backend", exact: true }, familyTokenizer("llama-2")); // { family: llama-2 }
 * ```
 */
export function outputBounds(
  declared: { readonly kind: string; readonly exact: boolean } | undefined,
  family: FamilyTokenizer | undefined,
): OutputBounds {
  if (family === undefined) return {};
  const exact = declared !== undefined && declared.kind === family.family;
  return exact ? { exact: family, family } : { family };
}

interface Choice {
  text: string;
  /**
   * Its tool calls' arguments as delivered (kept apart from `text`: they are counted as the JSON
   * text they decode to, see {@link generatedJson}).
   */
  args: string;
  /** Whether it ended with `finish_reason: "stop"` (the engine stopped on its own or on a stop string). */
  stopped: boolean;
  /** The text's UTF-8 bytes, kept as pieces arrive (also when the text itself is not kept). */
  bytes: number;
  pieces: number;
  words: number;
  /** Whether the text so far ends inside a word (a piece that starts with one continues it). */
  inWord: boolean;
}

const WORDS = /\S+/g;
const isText = (value: unknown): value is string => typeof value === "string" && value !== "";
const MAX_CHOICE_INDEX = 4096;
const encoder = new TextEncoder();

/**
 * The text an answer delivered, per choice, as its chunks pass (or as one unary answer): the
 * `text`, `content`, `refusal` and tool-call name and arguments of each choice. Keeps, as it goes,
 * two lower bounds of the output tokens that hold for every tokenizer that splits on white space
 * (SentencePiece, byte-level BPE, the development backend's): the words (no token spans two) and
 * the non-empty text pieces (each is at least one token). {@link count} adds the tokenizers' counts
 * of the whole text, once.
 *
 * @example
 * ```ts
 * const text = new DeliveredText();
 * text.add({ choices: [{ index: 0, delta: { content: "Hello big" } }] });
 * text.add({ choices: [{ index: 0, delta: { content: " world" } }] });
 * text.lowerBound; // 3 words
 * ```
 */
export class DeliveredText {
  readonly #choices: Choice[] = [];
  readonly #keepText: boolean;

  /**
   * `keepText: false` keeps only the counts as pieces arrive (words, pieces, UTF-8 bytes), not the
   * text: enough for {@link lowerBound} and {@link provableMax}, at no memory per character; then
   * {@link count}, which runs tokenizers over the text, is refused.
   */
  constructor(options: { readonly keepText?: boolean } = {}) {
    this.#keepText = options.keepText ?? true;
  }
  /** The last {@link count}, for the bounds it was made with, until more text arrives. */
  #counted: { readonly bounds: OutputBounds; readonly value: DeliveredBounds } | undefined;

  /** Adds one chunk's data or one whole answer. */
  add(chunk: unknown): void {
    if (typeof chunk !== "object" || chunk === null) return;
    const choices = (chunk as { choices?: unknown }).choices;
    if (!Array.isArray(choices)) return;
    this.#counted = undefined;
    choices.forEach((raw: unknown, position) => {
      if (typeof raw !== "object" || raw === null) return;
      const c = raw as {
        index?: unknown;
        text?: unknown;
        delta?: Record<string, unknown> | null;
        message?: Record<string, unknown> | null;
      };
      const index =
        typeof c.index === "number" &&
        Number.isSafeInteger(c.index) &&
        c.index >= 0 &&
        c.index < MAX_CHOICE_INDEX
          ? c.index
          : position;
      let choice = this.#choices[index];
      if (choice === undefined) {
        choice = { text: "", args: "", stopped: false, bytes: 0, pieces: 0, words: 0, inWord: false };
        this.#choices[index] = choice;
      }
      if ((raw as { finish_reason?: unknown }).finish_reason === "stop") choice.stopped = true;
      // Each part in order; a tool call's arguments are JSON, counted as they decode. No array per
      // part: this runs for every chunk of every stream.
      const keep = this.#keepText;
      if (isText(c.text)) append(choice, c.text, keep);
      const body = c.delta ?? c.message;
      if (typeof body === "object" && body !== null) {
        if (isText(body.content)) append(choice, body.content, keep);
        if (isText(body.refusal)) append(choice, body.refusal, keep);
        if (Array.isArray(body.tool_calls)) {
          for (const call of body.tool_calls as { function?: { name?: unknown; arguments?: unknown } }[]) {
            const name = call?.function?.name;
            const args = call?.function?.arguments;
            if (isText(name)) append(choice, name, keep);
            if (isText(args)) append(choice, args, keep, true);
          }
        }
      }
    });
  }

  /** Output tokens at least, by words and pieces: cheap, kept as chunks arrive. */
  get lowerBound(): number {
    let sum = 0;
    for (const c of this.#choices) if (c !== undefined) sum += Math.max(c.words, c.pieces);
    return sum;
  }

  /**
   * The words of the text, over all choices: no tokenizer that splits on white space (SentencePiece,
   * byte-level BPE) counts fewer tokens, so a bill at or under it needs no tokenizer to believe.
   */
  get words(): number {
    let sum = 0;
    for (const c of this.#choices) if (c !== undefined) sum += c.words;
    return sum;
  }

  /** Choices that delivered any text. */
  get choices(): number {
    return this.#choices.filter((c) => c !== undefined && (c.text !== "" || c.args !== "")).length;
  }

  /**
   * Choices that ended with `finish_reason: "stop"`: their engine generated what ended them (an
   * end-of-sequence token, a stop string it cut) beyond the text they hold.
   */
  get stopped(): number {
    return this.#choices.filter((c) => c?.stopped === true).length;
  }

  /**
   * The reader's counts of the whole text: `atLeast` is the larger of the lower bound and the exact
   * tokenizer's count; `atMost` the family tokenizer's count, or the UTF-8 bytes (every token is at
   * least one byte). Pieces do not raise `atMost`: a node that splits its text finer bills no more.
   * The tokenizers run once per text: the counts are kept until more text arrives, and a family
   * that is also the exact tokenizer counts the text once for both bounds.
   */
  count(bounds: OutputBounds = {}): DeliveredBounds {
    if (!this.#keepText)
      throw new Error("DeliveredText: count() needs the text, which keepText: false does not keep");
    const kept = this.#counted;
    if (kept !== undefined && kept.bounds.exact === bounds.exact && kept.bounds.family === bounds.family)
      return kept.value;
    let atLeast = 0;
    let atMost = 0;
    for (const c of this.#choices) {
      if (c === undefined || (c.text === "" && c.args === "")) continue;
      const text = generated(c);
      const floor = Math.max(c.words, c.pieces);
      const exact = bounds.exact?.countOutput(text);
      atLeast += Math.max(floor, exact ?? 0);
      const ceiling =
        bounds.family === undefined
          ? encoder.encode(text).length
          : bounds.family === bounds.exact
            ? (exact as number)
            : bounds.family.countOutput(text);
      atMost += ceiling;
    }
    const value = { atLeast, atMost };
    this.#counted = { bounds: { exact: bounds.exact, family: bounds.family }, value };
    return value;
  }

  /**
   * The fewest output tokens an engine counting with `exact` can have generated for the text, over
   * all choices: the lower bound, or the fewest of the tokenizer's tokens that spell each choice's
   * text (`fewestOutput`) when higher. More than the request allowed proves an overrun, however the
   * engine sampled; the tokenizer's own encoding of the text does not. Needs the text, as
   * {@link count} does.
   */
  fewest(exact: FamilyTokenizer): number {
    if (!this.#keepText)
      throw new Error("DeliveredText: fewest() needs the text, which keepText: false does not keep");
    let sum = 0;
    for (const c of this.#choices) {
      if (c === undefined || (c.text === "" && c.args === "")) continue;
      sum += Math.max(c.words, c.pieces, exact.fewestOutput(generated(c)));
    }
    return sum;
  }

  /**
   * The most output tokens any honest count of the text can reach, for any tokenizer: its UTF-8
   * bytes (no token is shorter than a byte; an engine may sample a word letter by letter, so a
   * tokenizer's count of the text is no bound). A node declaring more inflates its usage.
   */
  get provableMax(): number {
    let max = 0;
    for (const c of this.#choices) if (c !== undefined) max += c.bytes;
    return max;
  }
}

/** A choice's text as its engine generated it: its text, then its tool calls' arguments decoded. */
const generated = (c: Choice): string => (c.args === "" ? c.text : c.text + generatedJson(c.args));

/** A JSON escape: `\uXXXX` (with the low surrogate's escape after it, when one follows), or any other. */
const JSON_ESCAPE = /\\(?:u([0-9a-fA-F]{4})(?:\\u([dD][c-fC-F][0-9a-fA-F]{2}))?|[\s\S])/g;

/** Whether JSON lets a UTF-16 unit stand as itself: not `"`, `\`, a control character or a surrogate. */
const standsUnescaped = (code: number) =>
  code >= 0x20 && code !== 0x22 && code !== 0x5c && (code < 0xd800 || code > 0xdfff);

/**
 * JSON text as an engine generated it, before a serializer escaped it again: a node's engine may
 * re-encode a tool call's arguments with `\u003c` for `<` (Go's encoder escapes `<`, `>` and `&`;
 * Python's, by default, every non-ASCII character), which the engine wrote as one character.
 * Each `\uXXXX` escape of a character JSON lets stand unescaped (not `"`, `\` or a control
 * character; a surrogate pair as its one character), and `\/`, is read as that character; every
 * other escape stays as written. Counting the escapes would bill the client for the serializer.
 *
 * @example
 * ```ts
 * generatedJson(String.raw`{"q":"\u003cb\u003e \"x\" \ud83d\ude00"}`); // '{"q":"<b> \"x\" 😀"}'
 * ```
 */
export function generatedJson(json: string): string {
  if (!json.includes("\\")) return json;
  return json.replace(JSON_ESCAPE, (written: string, unit?: string, low?: string) => {
    if (unit === undefined) return written === "\\/" ? "/" : written;
    const code = Number.parseInt(unit, 16);
    if (low === undefined) return standsUnescaped(code) ? String.fromCharCode(code) : written;
    if (code >= 0xd800 && code <= 0xdbff) return String.fromCharCode(code, Number.parseInt(low, 16));
    // A unit before a lone low surrogate: the unit as above, the lone one as written.
    return `${standsUnescaped(code) ? String.fromCharCode(code) : `\\u${unit}`}\\u${low}`;
  });
}

function append(choice: Choice, part: string, keepText: boolean, args = false): void {
  choice.pieces += 1;
  choice.bytes += utf8Length(part);
  let words = 0;
  WORDS.lastIndex = 0;
  while (WORDS.exec(part) !== null) words++;
  // A piece that starts inside the word the text ended in continues that word.
  if (choice.inWord && !/^\s/.test(part) && words > 0) words -= 1;
  choice.words += words;
  choice.inWord = !/\s$/.test(part);
  if (!keepText) return;
  if (args) choice.args += part;
  else choice.text += part;
}
