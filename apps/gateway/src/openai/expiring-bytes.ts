/**
 * What one kept entry costs beyond its own bytes: the map entry, its record, the Buffer and its
 * backing store, its name (64 to 81 characters here) and its place in its owner's set. Measured on
 * Node 20 with 16-byte entries: about 380 bytes, about 405 with an owner. Counted against the
 * bounds with the bytes, so that a store of many short entries (streamed items of a few words,
 * small images) holds no more memory than its bound says.
 */
export const KEPT_ENTRY_OVERHEAD_BYTES = 400;

/** What one entry of `length` bytes counts against the bounds. */
const keptEntryCost = (length: number) => length + KEPT_ENTRY_OVERHEAD_BYTES;

/** How long kept bytes live, and the most memory they hold at once. */
export interface ExpiringBytesOptions {
  readonly ttlMs: number;
  /** The most memory kept at once: each entry's bytes and {@link KEPT_ENTRY_OVERHEAD_BYTES}. */
  readonly maxBytes: number;
  /**
   * The most memory one owner's entries hold at once, counted as `maxBytes` is (see
   * {@link ExpiringBytes.put}); when it is reached, that owner's oldest go first, so no owner pushes
   * out another's. Unbounded when absent.
   */
  readonly maxBytesPerOwner?: number | undefined;
}

/**
 * `bytes`, in memory of their own: a small Buffer (`Buffer.concat`, `Buffer.from`) is a view on
 * Node's shared 8 KiB pool, and one kept for an hour would keep the whole block, with whatever
 * else was cut from it, alive that long; counted as its own length, it would cost many times that.
 */
function ownMemory(bytes: Buffer): Buffer {
  if (bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength) return bytes;
  const own = Buffer.allocUnsafeSlow(bytes.length);
  bytes.copy(own);
  return own;
}

interface Kept {
  readonly bytes: Buffer;
  readonly expiresAt: number;
  readonly owner: string | undefined;
}

/**
 * Bytes kept in this process's memory under unguessable names, bounded: each for `ttlMs`, at most
 * `maxBytes` in all (the oldest go first when a new one needs room; one larger than the whole bound
 * is not kept) and, for entries put with an owner, at most `maxBytesPerOwner` per owner (that
 * owner's oldest go first). Each entry counts its bytes and {@link KEPT_ENTRY_OVERHEAD_BYTES}.
 * Nothing is written anywhere; everything is gone when the process stops. Generated image URLs
 * (`image-urls.ts`) and streamed `/v1/responses` message items (`streamed-items.ts`) are kept here.
 */
export class ExpiringBytes {
  private readonly entries = new Map<string, Kept>();
  private bytes = 0;
  /** Each owner's entry names, oldest first, and the bytes they hold. */
  private readonly owners = new Map<string, { readonly names: Set<string>; bytes: number }>();

  constructor(
    private readonly options: ExpiringBytesOptions,
    private readonly now: () => number = Date.now,
  ) {}

  /** The most memory kept at once (also the cap on a peer's answer, which is never larger). */
  get maxBytes(): number {
    return this.options.maxBytes;
  }

  /** How long an entry is kept, in seconds. */
  get ttlSeconds(): number {
    return Math.ceil(this.options.ttlMs / 1000);
  }

  /**
   * Keeps `bytes` under `name` (a name already kept is replaced), counted to `owner` when given;
   * false when they exceed the whole bound or the owner's.
   */
  put(name: string, bytes: Buffer, owner?: string): boolean {
    this.remove(name);
    this.dropExpired();
    const ownerMax =
      owner === undefined
        ? Number.POSITIVE_INFINITY
        : (this.options.maxBytesPerOwner ?? Number.POSITIVE_INFINITY);
    const cost = keptEntryCost(bytes.length);
    if (cost > this.options.maxBytes || cost > ownerMax) return false;
    const own = owner === undefined ? undefined : this.owners.get(owner);
    while (own !== undefined && own.bytes + cost > ownerMax) {
      this.remove(own.names.values().next().value as string);
    }
    while (this.bytes + cost > this.options.maxBytes && this.entries.size > 0) {
      const oldest = this.entries.keys().next().value as string;
      this.remove(oldest);
    }
    this.entries.set(name, { bytes: ownMemory(bytes), expiresAt: this.now() + this.options.ttlMs, owner });
    this.bytes += cost;
    if (owner !== undefined) {
      const held = this.owners.get(owner) ?? { names: new Set<string>(), bytes: 0 };
      held.names.add(name);
      held.bytes += cost;
      this.owners.set(owner, held);
    }
    return true;
  }

  /** The bytes and seconds left, or `undefined` once they expired (or were never kept). */
  get(name: string): { readonly bytes: Buffer; readonly secondsLeft: number } | undefined {
    const kept = this.entries.get(name);
    if (kept === undefined) return undefined;
    const left = kept.expiresAt - this.now();
    if (left <= 0) {
      this.remove(name);
      return undefined;
    }
    return { bytes: kept.bytes, secondsLeft: Math.ceil(left / 1000) };
  }

  /** Entries kept, and the memory they count against `maxBytes` (their bytes and overhead). */
  stats(): { readonly entries: number; readonly bytes: number } {
    this.dropExpired();
    return { entries: this.entries.size, bytes: this.bytes };
  }

  /** Every entry's bytes, for tests that check what memory holds. */
  *values(): IterableIterator<Buffer> {
    for (const kept of this.entries.values()) yield kept.bytes;
  }

  /** Every entry's name, for tests that check what memory holds. */
  names(): string[] {
    return [...this.entries.keys()];
  }

  private dropExpired(): void {
    const now = this.now();
    // Insertion order is expiry order (one TTL for all): stop at the first one still live.
    for (const [name, kept] of this.entries) {
      if (kept.expiresAt > now) break;
      this.remove(name);
    }
  }

  private remove(name: string): void {
    const kept = this.entries.get(name);
    if (kept === undefined) return;
    this.entries.delete(name);
    const cost = keptEntryCost(kept.bytes.length);
    this.bytes -= cost;
    if (kept.owner === undefined) return;
    const held = this.owners.get(kept.owner);
    if (held === undefined) return;
    held.names.delete(name);
    held.bytes -= cost;
    if (held.names.size === 0) this.owners.delete(kept.owner);
  }
}
