import type { TokenCounter } from "./relay-input.js";

const WORD = /\S+/g;
const encoder = new TextEncoder();

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
  let n = 0;
  WORD.lastIndex = 0;
  while (WORD.exec(text) !== null) n++;
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
export const tokensAtMost: TokenCounter = (text) => encoder.encode(text).length + 1;
