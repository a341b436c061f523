/** How long kept bytes live, and the most bytes kept at once. */
export interface ExpiringBytesOptions {
  readonly ttlMs: number;
  readonly maxBytes: number;
}

interface Kept {
  readonly bytes: Buffer;
  readonly expiresAt: number;
}

/**
 * Bytes kept in this process's memory under unguessable names, bounded: each for `ttlMs`, at most
 * `maxBytes` in all (the oldest go first when a new one needs room; one larger than the whole bound
 * is not kept). Nothing is written anywhere; everything is gone when the process stops. Generated
 * image URLs (`image-urls.ts`) and streamed `/v1/responses` message items (`streamed-items.ts`)
 * are kept here.
 */
export class ExpiringBytes {
  private readonly entries = new Map<string, Kept>();
  private bytes = 0;

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

  /** Keeps `bytes` under `name` (a name already kept is replaced); false when they exceed the whole bound. */
  put(name: string, bytes: Buffer): boolean {
    this.remove(name);
    this.dropExpired();
    if (bytes.length > this.options.maxBytes) return false;
    while (this.bytes + bytes.length > this.options.maxBytes && this.entries.size > 0) {
      const oldest = this.entries.keys().next().value as string;
      this.remove(oldest);
    }
    this.entries.set(name, { bytes, expiresAt: this.now() + this.options.ttlMs });
    this.bytes += bytes.length;
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
  }
}
