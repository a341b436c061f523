import type { TokenCounter } from "./relay-input.js";

/** Whether a UTF-16 unit is white space as a regular expression's `\s` reads it. */
function isSpace(c: number): boolean {
  if (c <= 0x20) return c === 0x20 || (c >= 0x09 && c <= 0x0d);
  if (c < 0xa0) return false;
  return (
    c === 0xa0 ||
    c === 0x1680 ||
    (c >= 0x2000 && c <= 0x200a) ||
    c === 0x2028 ||
    c === 0x2029 ||
    c === 0x202f ||
    c === 0x205f ||
    c === 0x3000 ||
    c === 0xfeff
  );
}

/**
 * A lower bound of the tokens of a text for any tokenizer that splits on white space before it
 * merges (SentencePiece as in Llama and Mistral, byte-level BPE as in GPT-2 and tiktoken): no token
 * spans two words, so a text has at least as many tokens as white-space separated words. A reader
 * without a tokenizer (the gateway) refuses a prompt as too long only when this bound is over the
 * limit, so it never refuses what the node, counting exactly, would accept. Conservative: it
 * undercounts punctuation, numbers and long words.
 *
 * @example
 * ```ts
 * tokensAtLeast("héllo  big world"); // 3
 * ```
 */
export const tokensAtLeast: TokenCounter = (text) => {
  // The runs of non-space units (as `/\S+/g` finds them), counted in one pass without a match object each.
  let n = 0;
  let inWord = false;
  for (let i = 0; i < text.length; i++) {
    const space = isSpace(text.charCodeAt(i));
    if (!space && !inWord) n++;
    inWord = !space;
  }
  return n;
};

/**
 * An upper bound of the tokens of a text: its UTF-8 bytes plus one (every token is at least one
 * byte; one marker for the start of the text). Used to reserve enough of a key's token budget
 * before the exact count is known. Conservative: real counts are usually a quarter of this.
 *
 * @example
 * ```ts
 * tokensAtMost("héllo"); // 7
 * ```
 */
export const tokensAtMost: TokenCounter = (text) => utf8Length(text) + 1;

/** Bytes of a text's UTF-8 form as `TextEncoder` writes it (a lone surrogate as U+FFFD), without writing it. */
export function utf8Length(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      const d = text.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        bytes += 4;
        i++;
      } else bytes += 3;
    } else bytes += 3;
  }
  return bytes;
}
