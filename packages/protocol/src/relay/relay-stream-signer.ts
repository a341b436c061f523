import type { KeyPair } from "../crypto/index.js";
import {
  createRelayStreamChunk,
  type RelayStreamChunk,
  type RelayStreamFinal,
} from "./relay-stream-chunk.js";
import { type RelaySigningKey, signingKeyPair } from "./signing-key.js";

/**
 * The node's side of a streamed relay: signs chunks in order, keeping `seq` and the chain. Call
 * {@link RelayStreamSigner.next} for each SSE chunk and {@link RelayStreamSigner.finish} once, with
 * the usage and compute units of the whole relay; nothing can be signed after that.
 *
 * @example
 * ```ts
 * const signer = new RelayStreamSigner(requestHash, nodeKeyPair);
 * for await (const sse of backendStream) send(signer.next(sse));
 * send(signer.finish(null, { outcome: "ok", usage, computeUnits }));
 * relayLeafHash(requestHash, signer.chain); // the claim leaf
 * ```
 */
export class RelayStreamSigner {
  readonly requestHash: string;
  readonly #key: KeyPair;
  #seq = 0;
  #chain: string;
  #finished = false;

  constructor(requestHash: string, nodeKey: RelaySigningKey) {
    this.requestHash = requestHash;
    this.#key = signingKeyPair(nodeKey);
    this.#chain = requestHash;
  }

  /** The `seq` the next chunk will carry. */
  get nextSeq(): number {
    return this.#seq;
  }

  /** The chain of the last signed chunk (the request hash before any). */
  get chain(): string {
    return this.#chain;
  }

  /** Whether the final chunk has been signed. */
  get finished(): boolean {
    return this.#finished;
  }

  /** Signs the next chunk carrying `data`. Throws once the stream is finished. */
  next(data: unknown): RelayStreamChunk {
    return this.#sign(data, undefined);
  }

  /** Signs the last chunk, carrying `data` (may be `null`) and the trailer. Throws if already finished. */
  finish(data: unknown, final: RelayStreamFinal): RelayStreamChunk {
    return this.#sign(data, final);
  }

  #sign(data: unknown, final: RelayStreamFinal | undefined): RelayStreamChunk {
    if (this.#finished) throw new Error("RelayStreamSigner: the stream is already finished");
    const chunk = createRelayStreamChunk(
      {
        requestHash: this.requestHash,
        seq: this.#seq,
        data,
        prevChain: this.#chain,
        ...(final === undefined ? {} : { final }),
      },
      this.#key,
    );
    this.#seq += 1;
    this.#chain = chunk.chain;
    if (final !== undefined) this.#finished = true;
    return chunk;
  }
}
