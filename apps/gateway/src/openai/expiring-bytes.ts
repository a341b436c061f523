/** How long kept bytes live, and the most bytes kept at once. */
export interface ExpiringBytesOptions {
  readonly ttlMs: number;
  readonly maxBytes: number;
  /**
   * The most bytes one owner's entries hold at once (see {@link ExpiringBytes.put}); when it is
   * reached, that owner's oldest go first, so no owner pushes out another's. Unbounded when absent.
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
 * owner's oldest go first). Nothing is written anywhere; everything is gone when the process stops. Generated
 * image URLs (`image-urls.ts`) and streamed `/v1/responses` message items (`streamed-items.ts`)
 * are kept here.
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

  /** The most bytes kept at once (also the most a peer's answer may carry). */
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
    if (bytes.length > this.options.maxBytes || bytes.length > ownerMax) return false;
    const own = owner === undefined ? undefined : this.owners.get(owner);
    while (own !== undefined && own.bytes + bytes.length > ownerMax) {
      this.remove(own.names.values().next().value as string);
    }
    while (this.bytes + bytes.length > this.options.maxBytes && this.entries.size > 0) {
      const oldest = this.entries.keys().next().value as string;
      this.remove(oldest);
    }
    this.entries.set(name, { bytes: ownMemory(bytes), expiresAt: this.now() + this.options.ttlMs, owner });
    this.bytes += bytes.length;
    if (owner !== undefined) {
      const held = this.owners.get(owner) ?? { names: new Set<string>(), bytes: 0 };
      held.names.add(name);
      held.bytes += bytes.length;
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
    this.bytes -= kept.bytes.length;
    if (kept.owner === undefined) return;
    const held = this.owners.get(kept.owner);
    if (held === undefined) return;
    held.names.delete(name);
    held.bytes -= kept.bytes.length;
    if (held.names.size === 0) this.owners.delete(kept.owner);
  }
}
