import type { Tokenizer } from "./tokenizer.js";
import { wtf8Decode } from "./wtf8.js";

/** One token of a completion as streamed and reported in logprobs. */
export interface StreamedToken {
  readonly token: number;
  /** Printable token name (see `Tokenizer.tokenName`). */
  readonly name: string;
  /** Null only for the first echoed prompt token, which has no context to be scored in. */
  readonly logprob: number | null;
  /**
   * Present when logprobs were requested: the `k` most probable tokens at this step, most probable
   * first (the token itself among them only if it is one of those `k`); null where the token has
   * no context to be scored in.
   */
  readonly alternatives?: readonly TokenAlternative[] | null;
  /** Character offset of the token's start in the returned text. */
  readonly textOffset: number;
}

/** A token that could have been generated at a step, by its printable name, with its logprob. */
export interface TokenAlternative {
  readonly name: string;
  readonly logprob: number;
}

export interface CompletionChunk {
  readonly text: string;
  readonly tokens: readonly StreamedToken[];
}

type PendingToken = Omit<StreamedToken, "textOffset">;

/**
 * Turns generated tokens into text as it becomes final. Two things can hold text back: a byte
 * token that is only part of a character, and a text end that may be the start of a stop
 * sequence. A token is released once the text it starts at is released, so a stop sequence
 * found later never has to take back a token or text the caller has already seen.
 */
export class CompletionBuffer {
  private text = "";
  private released = 0;
  private bytes: number[] = [];
  private readonly queue: { readonly token: PendingToken; readonly start: number }[] = [];
  private readonly stops: readonly string[];
  private readonly longestStop: number;

  constructor(
    private readonly tokenizer: Tokenizer,
    stop: readonly string[],
    /** Added to every `textOffset`, e.g. the prompt's length when it is echoed. */
    private readonly offset = 0,
  ) {
    this.stops = stop.filter((s) => s.length > 0);
    this.longestStop = this.stops.reduce((n, s) => Math.max(n, s.length), 0);
  }

  /** Adds a token; `stopped` means a stop sequence ended the completion (it is not included). */
  push(token: PendingToken): { readonly chunk: CompletionChunk | undefined; readonly stopped: boolean } {
    const start = this.text.length;
    const before = this.text.length;
    this.bytes.push(...this.tokenizer.tokenBytes(token.token));
    const decoded = wtf8Decode(Uint8Array.from(this.bytes), { stream: true });
    this.text += decoded.text;
    this.bytes = this.bytes.slice(this.bytes.length - decoded.pending);
    this.queue.push({ token, start });

    const stopAt = this.findStop(Math.max(0, before - this.longestStop + 1));
    if (stopAt !== undefined) return { chunk: this.release(stopAt), stopped: true };
    return { chunk: this.release(this.wholeTokens(this.text.length - this.heldBack())), stopped: false };
  }

  /**
   * `end` moved back to the start of the token whose text it falls inside: text goes out with the
   * token it belongs to, never as a piece of its own after its token went out with the part
   * before. Each piece of text released then carries a token, so that a reader who counts each
   * piece as one token at least (the node's checks and the gateway's) never counts more than were
   * generated, as it would when `max_tokens` ends the completion on text held for a stop.
   */
  private wholeTokens(end: number): number {
    if (end >= this.text.length) return end;
    let spanning: number | undefined;
    for (const { start } of this.queue) {
      if (start === end) return end;
      if (start > end) break;
      spanning = start;
    }
    return spanning ?? end;
  }

  /** Releases everything still held; unfinished characters become U+FFFD. */
  finish(): CompletionChunk | undefined {
    if (this.bytes.length > 0) this.text += wtf8Decode(Uint8Array.from(this.bytes)).text;
    this.bytes = [];
    return this.release(this.text.length, true);
  }

  private findStop(from: number): number | undefined {
    let found: number | undefined;
    for (const stop of this.stops) {
      const at = this.text.indexOf(stop, from);
      if (at >= 0 && (found === undefined || at < found)) found = at;
    }
    return found;
  }

  /** Length of the longest text suffix that is a proper prefix of a stop sequence. */
  private heldBack(): number {
    let held = 0;
    for (const stop of this.stops) {
      for (let k = Math.min(stop.length - 1, this.text.length); k > held; k--) {
        if (this.text.endsWith(stop.slice(0, k))) {
          held = k;
          break;
        }
      }
    }
    return held;
  }

  private release(end: number, all = false): CompletionChunk | undefined {
    const upTo = Math.max(end, this.released);
    const tokens: StreamedToken[] = [];
    while (this.queue.length > 0 && (all || this.queue[0]!.start < upTo)) {
      const { token, start } = this.queue.shift()!;
      if (start <= upTo) tokens.push({ ...token, textOffset: this.offset + start });
    }
    if (all) this.queue.length = 0;
    const text = this.text.slice(this.released, upTo);
    this.released = upTo;
    return text === "" && tokens.length === 0 ? undefined : { text, tokens };
  }
}
