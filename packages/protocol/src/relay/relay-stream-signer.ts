import type { KeyPair } from "../crypto/index.js";
import { signDigest } from "../crypto/index.js";
import { sha256HexAfterCanonical } from "../encoding/hash.js";
import { bytesToHex, canonicalHash } from "../encoding/index.js";
import { HEX_64 } from "../encoding/plain-values.js";
import {
  createRelayStreamChunk,
  type RelayStreamChunk,
  type RelayStreamFinal,
  type UnsignedRelayStreamChunk,
} from "./relay-stream-chunk.js";
import { type RelaySigningKey, signingKeyPair } from "./signing-key.js";

/**
 * How often a {@link RelayStreamSigner} signs a chain head: at least every `everyChunks` chunks and
 * whenever `everyMs` milliseconds have passed since the last head (checked as each chunk is
 * made); the first and the final chunk are always signed. The default signs every chunk.
 *
 * @example
 * ```ts
 * const cadence: HeadCadence = { everyChunks: 16, everyMs: 100 };
 * ```
 */
export interface HeadCadence {
  readonly everyChunks?: number;
  readonly everyMs?: number;
  /** The clock `everyMs` reads (default `performance.now`). */
  readonly now?: () => number;
}

/**
 * The node's side of a streamed relay: builds chunks in order, keeping `seq` and the chain, and
 * signs chain heads at its {@link HeadCadence}. Call {@link RelayStreamSigner.next} for each SSE
 * chunk and {@link RelayStreamSigner.finish} once, with the usage and compute units of the whole
 * relay; nothing can be added after that. Each chunk's data is canonically encoded once (the same
 * bytes feed the chain and, on a head, the signature).
 *
 * @example
 * ```ts
 * const signer = new RelayStreamSigner(requestHash, nodeKeyPair, { everyChunks: 16, everyMs: 100 });
 * for await (const sse of backendStream) send(signer.next(sse));
 * send(signer.finish(null, { outcome: "ok", usage, computeUnits }));
 * relayLeafHash(requestHash, signer.chain); // the claim leaf
 * ```
 */
export class RelayStreamSigner {
  readonly requestHash: string;
  readonly #key: KeyPair;
  readonly #everyChunks: number;
  readonly #everyMs: number;
  readonly #now: () => number;
  #seq = 0;
  #chain: string;
  #finished = false;
  #sinceHead = 0;
  #headAt = 0;

  constructor(requestHash: string, nodeKey: RelaySigningKey, cadence: HeadCadence = {}) {
    if (typeof requestHash !== "string" || !HEX_64.test(requestHash)) {
      throw new TypeError("RelayStreamSigner: requestHash must be 64 lowercase hex digits");
    }
    this.requestHash = requestHash;
    this.#key = signingKeyPair(nodeKey);
    this.#chain = requestHash;
    this.#everyChunks = Math.max(1, Math.floor(cadence.everyChunks ?? 1));
    this.#everyMs = cadence.everyMs ?? Number.POSITIVE_INFINITY;
    this.#now = cadence.now ?? (() => performance.now());
  }

  /** The `seq` the next chunk will carry. */
  get nextSeq(): number {
    return this.#seq;
  }

  /** The chain of the last chunk (the request hash before any). */
  get chain(): string {
    return this.#chain;
  }

  /** Whether the final chunk has been signed. */
  get finished(): boolean {
    return this.#finished;
  }

  /** Makes the next chunk carrying `data`, signed when the cadence says so. Throws once finished. */
  next(data: unknown): RelayStreamChunk {
    if (this.#finished) throw new Error("RelayStreamSigner: the stream is already finished");
    const now = this.#now();
    const head =
      this.#seq === 0 || this.#sinceHead + 1 >= this.#everyChunks || now - this.#headAt >= this.#everyMs;
    let chain: string;
    try {
      if (data === undefined) throw new TypeError();
      chain = sha256HexAfterCanonical(this.#chain, data);
    } catch {
      throw new TypeError("RelayStreamSigner: data is not a canonical JSON value");
    }
    const unsigned: UnsignedRelayStreamChunk = {
      v: 1,
      requestHash: this.requestHash,
      seq: this.#seq,
      data,
      chain,
      node: this.#key.address,
    };
    this.#seq += 1;
    this.#chain = chain;
    if (!head) {
      this.#sinceHead += 1;
      return unsigned;
    }
    this.#sinceHead = 0;
    this.#headAt = now;
    const signature = bytesToHex(signDigest(canonicalHash(unsigned), this.#key.privateKey));
    return { ...unsigned, signature };
  }

  /** Signs the last chunk, carrying `data` (may be `null`) and the trailer. Throws if already finished. */
  finish(data: unknown, final: RelayStreamFinal): RelayStreamChunk {
    if (this.#finished) throw new Error("RelayStreamSigner: the stream is already finished");
    const chunk = createRelayStreamChunk(
      { requestHash: this.requestHash, seq: this.#seq, data, prevChain: this.#chain, final },
      this.#key,
    );
    this.#seq += 1;
    this.#chain = chunk.chain;
    this.#finished = true;
    return chunk;
  }
}
