/** One reservation's share of a key's window; `tokens` becomes the actual count when settled. */
interface WindowEntry {
  readonly reservationId: string;
  readonly at: number;
  readonly requests: number;
  tokens: number;
}

export interface RateAsk {
  readonly requests: number;
  readonly tokens: number;
}

export interface RateRefusal {
  readonly limit: "rpm" | "tpm";
  readonly retryAfterMs: number;
  readonly detail: string;
}

/**
 * Sliding-window logs (default 60 s) of each key's requests and tokens, in memory. All methods are
 * synchronous: a caller that runs {@link check} and {@link record} with no await in between owns
 * the window for that span (Node runs one JavaScript task at a time), so two concurrent requests
 * cannot both take the last slot.
 */
export class RateWindows {
  private readonly windows = new Map<string, WindowEntry[]>();

  constructor(private readonly windowMs = 60_000) {}

  /** `undefined` when `ask` fits both limits (`null` = unlimited), else which limit refuses and until when. */
  check(
    keyId: string,
    limits: { readonly rpm: number | null; readonly tpm: number | null },
    ask: RateAsk,
    now: number,
  ): RateRefusal | undefined {
    const entries = this.live(keyId, now);
    for (const limit of ["rpm", "tpm"] as const) {
      const max = limits[limit];
      if (max === null) continue;
      const field = limit === "rpm" ? "requests" : "tokens";
      const used = entries.reduce((n, e) => n + e[field], 0);
      const excess = used + ask[field] - max;
      if (excess <= 0) continue;
      if (ask[field] > max) {
        const detail = `the request needs ${ask[field]} ${field}; the key allows ${max} per minute`;
        return { limit, retryAfterMs: this.windowMs, detail };
      }
      let freed = 0;
      for (const e of entries) {
        freed += e[field];
        if (freed >= excess) {
          const retryAfterMs = Math.max(1, e.at + this.windowMs - now);
          return {
            limit,
            retryAfterMs,
            detail: `the key's ${limit.toUpperCase()} limit of ${max} is reached`,
          };
        }
      }
    }
    return undefined;
  }

  record(keyId: string, reservationId: string, ask: RateAsk, now: number): void {
    const entries = this.windows.get(keyId) ?? [];
    entries.push({ reservationId, at: now, requests: ask.requests, tokens: ask.tokens });
    this.windows.set(keyId, entries);
  }

  /** Replaces the estimated token count with the actual one. */
  settle(keyId: string, reservationId: string, tokens: number): void {
    const entry = this.windows.get(keyId)?.find((e) => e.reservationId === reservationId);
    if (entry !== undefined) entry.tokens = tokens;
  }

  /** Forgets a reservation that was never served: it no longer counts against the window. */
  release(keyId: string, reservationId: string): void {
    const entries = this.windows.get(keyId);
    if (entries === undefined) return;
    const at = entries.findIndex((e) => e.reservationId === reservationId);
    if (at >= 0) entries.splice(at, 1);
  }

  usage(keyId: string, now: number): RateAsk {
    const entries = this.live(keyId, now);
    return {
      requests: entries.reduce((n, e) => n + e.requests, 0),
      tokens: entries.reduce((n, e) => n + e.tokens, 0),
    };
  }

  /** The key's entries still inside the window; older ones are dropped (and empty windows forgotten). */
  private live(keyId: string, now: number): readonly WindowEntry[] {
    const entries = this.windows.get(keyId);
    if (entries === undefined) return [];
    let expired = 0;
    while (expired < entries.length && (entries[expired]?.at ?? now) + this.windowMs <= now) expired++;
    if (expired > 0) entries.splice(0, expired);
    if (entries.length === 0) this.windows.delete(keyId);
    return entries;
  }
}
