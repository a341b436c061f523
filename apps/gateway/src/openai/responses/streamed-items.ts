import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createHmac,
  hkdfSync,
  randomBytes,
  timingSafeEqual,
} from "node:crypto";
import { ExpiringBytes, type ExpiringBytesOptions } from "../expiring-bytes.js";

/** The prefix of a message item id whose text this gateway keeps, encrypted, for a limited time. */
export const STREAMED_MESSAGE_PREFIX = "msg_pk2";

/**
 * The path a replica serves the ciphertexts it keeps to its peers under:
 * `/v1/responses/streamed-items/<sha256(K), 64 hex>`. Only with the hop header.
 */
export const STREAMED_ITEM_PATH = "/v1/responses/streamed-items/";

/** The content type of a kept item's ciphertext between replicas. */
export const STREAMED_ITEM_TYPE = "application/octet-stream";

const KEY_BYTES = 32;
const CHECK_BYTES = 16;
const IV_BYTES = 12;
const TAG_BYTES = 16;

/**
 * `msg_pk2` + the holding replica's id (16 hex) + `-` + base64url(K ‖ check): K is the item's own
 * 32-byte key, the check a 16-byte HMAC over replica, K and application under a key derived from
 * the gateway's private key. 48 bytes are exactly 64 base64url characters: one spelling per id.
 */
const STREAMED_ID = /^msg_pk2([0-9a-f]{16})-([A-Za-z0-9_-]{64})$/;

/** The length of every streamed item id. */
export const STREAMED_ITEM_ID_CHARS = STREAMED_MESSAGE_PREFIX.length + 16 + 1 + 64;

/** A hash naming a kept ciphertext (sha256 of its key, hex). */
export const STREAMED_ITEM_HASH = /^[0-9a-f]{64}$/;

const CHECK_INFO = "pocket-ai gateway: streamed responses message item ids v2";

/** A streamed item id that passed the strict parse and its check. */
export interface StreamedItemRef {
  /** The replica keeping its ciphertext. */
  readonly holder: string;
  /** sha256(K), hex: the name the ciphertext is kept under. */
  readonly hash: string;
  /** K: opens the ciphertext; never sent anywhere, never kept. */
  readonly key: Buffer;
}

/** The item a stream announces before its text exists; its text is kept once the stream completes. */
export interface PendingStreamedItem {
  readonly id: string;
  /** Encrypts `text` with the item's key, keeps only the ciphertext, and forgets the key. Once. */
  keep(text: string): void;
  /** Forgets the key without keeping anything (the stream failed). */
  discard(): void;
}

const sha256 = (bytes: Buffer) => createHash("sha256").update(bytes).digest("hex");

/**
 * The message items of streamed `/v1/responses` answers, kept so that a later `item_reference`
 * works (the Vercel AI SDK's default after `streamText`). A streamed item's id must be announced
 * before its text exists, so it cannot carry the text (as a unary answer's `msg_pk1` id does);
 * instead it carries a fresh random key K. When the stream completes, the text is encrypted with K
 * (AES-256-GCM, the application's id as associated data) and only the ciphertext is kept, in this
 * process's memory ({@link ExpiringBytes}: for `ttlMs`, at most `maxBytes` in all, oldest first,
 * and at most `maxBytesPerOwner` per application, that application's oldest first, so that one
 * customer's many answers cannot push out every other customer's), named by sha256(K); K itself is
 * then dropped. Nothing is written anywhere, and what memory holds
 * opens only with the id the client has: a dump of this process reveals no text.
 *
 * The id names the replica keeping the ciphertext; other replicas on the same PostgreSQL fetch the
 * ciphertext by its hash (K never travels) and decrypt it themselves. The id's check (an HMAC under
 * a key derived from the gateway's private key, over replica, K and application) catches a changed
 * or forged id, or one used by another application, before any lookup or peer request.
 */
export class StreamedItemStore {
  private readonly kept: ExpiringBytes;
  private readonly checkKey: Buffer;

  constructor(
    options: ExpiringBytesOptions,
    /** This replica's id, named in every id it makes. */
    readonly replicaId: string,
    gatewayPrivateKey: Uint8Array,
    now: () => number = Date.now,
  ) {
    this.kept = new ExpiringBytes(options, now);
    this.checkKey = Buffer.from(hkdfSync("sha256", gatewayPrivateKey, Buffer.alloc(0), CHECK_INFO, 32));
  }

  /** The most memory kept at once, overhead included (also the cap on a peer's answer). */
  get maxBytes(): number {
    return this.kept.maxBytes;
  }

  /** How long an item is kept, in seconds. */
  get ttlSeconds(): number {
    return this.kept.ttlSeconds;
  }

  /** A new item of `applicationId`'s stream: its id now, its text kept when the stream completes. */
  announce(applicationId: string): PendingStreamedItem {
    let key: Buffer | undefined = randomBytes(KEY_BYTES);
    const id = `${STREAMED_MESSAGE_PREFIX}${this.replicaId}-${Buffer.concat([
      key,
      this.check(this.replicaId, key, applicationId),
    ]).toString("base64url")}`;
    const forget = () => {
      key?.fill(0);
      key = undefined;
    };
    return {
      id,
      keep: (text) => {
        if (key === undefined) return;
        const iv = randomBytes(IV_BYTES);
        const cipher = createCipheriv("aes-256-gcm", key, iv);
        cipher.setAAD(Buffer.from(applicationId, "utf8"));
        const sealed = Buffer.concat([
          iv,
          cipher.update(Buffer.from(text, "utf8")),
          cipher.final(),
          cipher.getAuthTag(),
        ]);
        this.kept.put(sha256(key), sealed, applicationId);
        forget();
      },
      discard: forget,
    };
  }

  /**
   * The parts of a streamed item id, when it has the exact shape and its check holds for
   * `applicationId`; `undefined` for anything else (nothing is looked up first).
   */
  parse(id: string, applicationId: string): StreamedItemRef | undefined {
    if (id.length !== STREAMED_ITEM_ID_CHARS) return undefined;
    const match = STREAMED_ID.exec(id);
    if (match === null) return undefined;
    const holder = match[1] as string;
    const encoded = match[2] as string;
    const bytes = Buffer.from(encoded, "base64url");
    // One spelling per id: the decoding must give the same characters back.
    if (bytes.length !== KEY_BYTES + CHECK_BYTES || bytes.toString("base64url") !== encoded) return undefined;
    const key = bytes.subarray(0, KEY_BYTES);
    const check = bytes.subarray(KEY_BYTES);
    if (!timingSafeEqual(check, this.check(holder, key, applicationId))) return undefined;
    return { holder, hash: sha256(key), key: Buffer.from(key) };
  }

  /** The ciphertext kept here under `hash`, with seconds left; `undefined` once expired or pushed out. */
  ciphertext(hash: string): { readonly bytes: Buffer; readonly secondsLeft: number } | undefined {
    return STREAMED_ITEM_HASH.test(hash) ? this.kept.get(hash) : undefined;
  }

  /** The text of a kept ciphertext, opened with the id's key; `undefined` when it does not open. */
  open(ref: StreamedItemRef, sealed: Buffer, applicationId: string): string | undefined {
    if (sealed.length < IV_BYTES + TAG_BYTES) return undefined;
    try {
      const decipher = createDecipheriv("aes-256-gcm", ref.key, sealed.subarray(0, IV_BYTES));
      decipher.setAAD(Buffer.from(applicationId, "utf8"));
      decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
      return Buffer.concat([
        decipher.update(sealed.subarray(IV_BYTES, sealed.length - TAG_BYTES)),
        decipher.final(),
      ]).toString("utf8");
    } catch {
      return undefined;
    }
  }

  stats(): { readonly items: number; readonly bytes: number } {
    const { entries, bytes } = this.kept.stats();
    return { items: entries, bytes };
  }

  /** What this store holds, name and bytes, for tests that check a memory dump reveals nothing. */
  held(): { readonly names: readonly string[]; readonly values: readonly Buffer[] } {
    return { names: this.kept.names(), values: [...this.kept.values()] };
  }

  private check(holder: string, key: Buffer, applicationId: string): Buffer {
    return createHmac("sha256", this.checkKey)
      .update(holder, "ascii")
      .update(key)
      .update(applicationId, "utf8")
      .digest()
      .subarray(0, CHECK_BYTES);
  }
}
