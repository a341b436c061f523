import { fail, type Result } from "../errors/index.js";
import type { RelayStreamChunk, RelayStreamFinal } from "./relay-stream-chunk.js";
import { verifyRelayStreamChunk } from "./verify-relay-stream-chunk.js";

/**
 * The gateway's side of a streamed relay: verifies chunks in arrival order, keeping the expected
 * `seq` and chain, so reordered, dropped, duplicated or spliced chunks are refused. Signatures are
 * checked on heads only (chunks that carry one; the final chunk must): a head vouches for every
 * chunk up to it ({@link RelayStreamVerifier.verifiedChunks}). A refused chunk
 * leaves the state unchanged; the gateway should end the stream with an error event on the first
 * refusal. A stream that stops before a final chunk is incomplete: `finished` stays false and the
 * gateway reports STREAM_INTERRUPTED.
 *
 * @example
 * ```ts
 * const verifier = new RelayStreamVerifier({ publicKey: node.publicKey, requestHash });
 * for await (const line of nodeStream) {
 *   const checked = verifier.accept(JSON.parse(line));
 *   if (!checked.ok) return abort(checked.error);
 *   forward(checked.value.chunk.data);
 * }
 * if (!verifier.finished) return abort("STREAM_INTERRUPTED");
 * ```
 */
export class RelayStreamVerifier {
  readonly publicKey: string;
  readonly requestHash: string;
  #seq = 0;
  #chain: string;
  #final: RelayStreamFinal | undefined;
  #verified = 0;
  #verifiedChain: string;

  constructor(expect: { readonly publicKey: string; readonly requestHash: string }) {
    this.publicKey = expect.publicKey;
    this.requestHash = expect.requestHash;
    this.#chain = expect.requestHash;
    this.#verifiedChain = expect.requestHash;
  }

  /**
   * How many chunks, from the first, the last signed head vouches for (0 before any head). Chunks
   * past it were accepted for order and chain but are not yet the node's word: a stream that breaks
   * here is paid and claimable only up to this count.
   */
  get verifiedChunks(): number {
    return this.#verified;
  }

  /** The chain of the last signed head (the request hash before any): the leaf of a broken stream. */
  get verifiedChain(): string {
    return this.#verifiedChain;
  }

  /** The `seq` the next chunk must carry. */
  get nextSeq(): number {
    return this.#seq;
  }

  /** The chain of the last accepted chunk (the request hash before any); after the final chunk,
   * the value to put in the claim leaf. */
  get chain(): string {
    return this.#chain;
  }

  /** Whether the final chunk has been accepted. */
  get finished(): boolean {
    return this.#final !== undefined;
  }

  /** The trailer of the accepted final chunk: the outcome and the work the node claims. */
  get final(): RelayStreamFinal | undefined {
    return this.#final;
  }

  /** Verifies the next chunk (untrusted input) and, if it is valid, advances. Never throws. */
  accept(input: unknown): Result<{ chunk: RelayStreamChunk }> {
    if (this.#final !== undefined) {
      return fail("MALFORMED_ENVELOPE", "stream chunk after the final chunk", "seq");
    }
    const checked = verifyRelayStreamChunk(input, {
      publicKey: this.publicKey,
      requestHash: this.requestHash,
      expectedSeq: this.#seq,
      prevChain: this.#chain,
    });
    if (!checked.ok) return checked;
    const { chunk } = checked.value;
    this.#seq += 1;
    this.#chain = chunk.chain;
    this.#final = chunk.final;
    if (chunk.signature !== undefined) {
      this.#verified = this.#seq;
      this.#verifiedChain = chunk.chain;
    }
    return checked;
  }
}
