import type { RelayUsage } from "../relay/envelope-fields.js";
import { DeliveredTally, type TallyBudget } from "./delivered-tally.js";

/**
 * A {@link DeliveredTally} of a stream whose chain heads are signed at intervals: a chunk passed
 * on counts once a signed head covers it (a head at `seq` s covers chunks 0…s; see
 * `RelayStreamVerifier.verifiedChunks`). A stream that breaks between heads is paid for, and
 * claimable, only up to the last head: the chunks after it were never the node's word.
 *
 * @example
 * ```ts
 * const tally = new HeadCoveredTally({ inputTokens: 12, maxOutputTokens: 1000 });
 * tally.add(chunk.seq, chunk.data); // passed on to the client
 * tally.cover(verifier.verifiedChunks); // after each accepted chunk
 * const billed = tally.usage(); // covered chunks only
 * ```
 */
export class HeadCoveredTally {
  readonly #tally: DeliveredTally;
  #pending: { readonly seq: number; readonly data: unknown }[] = [];
  #covered = 0;

  constructor(budget: TallyBudget) {
    this.#tally = new DeliveredTally(budget);
  }

  /** A chunk passed on, at its `seq` (counted now if a head already covers it). */
  add(seq: number, data: unknown): void {
    if (seq < this.#covered) this.#tally.add(data);
    else this.#pending.push({ seq, data });
  }

  /** A signed head vouches for the first `verifiedChunks` chunks. Never moves back. */
  cover(verifiedChunks: number): void {
    if (verifiedChunks <= this.#covered) return;
    this.#covered = verifiedChunks;
    if (this.#pending.length === 0) return;
    let kept = 0;
    for (const entry of this.#pending) {
      if (entry.seq < verifiedChunks) this.#tally.add(entry.data);
      else this.#pending[kept++] = entry;
    }
    this.#pending.length = kept;
  }

  /** Chunks passed on and covered. */
  get chunks(): number {
    return this.#tally.chunks;
  }

  /** Chunks passed on but not covered yet (not billable if the stream breaks now). */
  get uncovered(): number {
    return this.#pending.length;
  }

  /** Output tokens of the covered chunks, by the {@link DeliveredTally} rule. */
  get outputTokens(): number {
    return this.#tally.outputTokens;
  }

  /** The usage to bill and meter for a stream that ends now: covered chunks only. */
  usage(): RelayUsage {
    return this.#tally.usage();
  }
}
