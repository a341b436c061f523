import type { AuthenticatedKey } from "./records.js";

/**
 * The hot path's memory of recently authenticated keys, by key hash. Bounded (oldest entry
 * evicted first) and short-lived (`ttlMs`), so a change made outside this process is seen within
 * the TTL; changes made through {@link Accounts} invalidate at once. Unknown keys are not cached,
 * so garbage bearer tokens cannot fill it.
 */
export class KeyCache {
  private readonly entries = new Map<
    string,
    { readonly key: AuthenticatedKey; readonly expiresAt: number }
  >();

  constructor(
    private readonly maxEntries: number,
    private readonly ttlMs: number,
  ) {}

  get(hash: string, now: number): AuthenticatedKey | undefined {
    const entry = this.entries.get(hash);
    if (entry === undefined) return undefined;
    if (entry.expiresAt <= now) {
      this.entries.delete(hash);
      return undefined;
    }
    return entry.key;
  }

  set(hash: string, key: AuthenticatedKey, now: number): void {
    this.entries.delete(hash);
    this.entries.set(hash, { key, expiresAt: now + this.ttlMs });
    while (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (oldest.done === true) break;
      this.entries.delete(oldest.value);
    }
  }

  /** Drops every cached entry matching `predicate` (a revoked key, a disabled application). */
  invalidate(predicate: (key: AuthenticatedKey) => boolean): void {
    for (const [hash, entry] of this.entries) if (predicate(entry.key)) this.entries.delete(hash);
  }

  get size(): number {
    return this.entries.size;
  }
}
