/** One reservation's share of a key's window; `tokens` is the actual count once settled. */
export interface WindowEntry {
  readonly at: number;
  readonly requests: number;
  readonly tokens: number;
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

/** The rate windows' length: RPM and TPM are per 60 s, sliding. */
export const RATE_WINDOW_MS = 60_000;

/**
 * Whether `ask` fits a key's sliding windows (`null` = unlimited), given the key's entries still
 * inside the window, oldest first; else which limit refuses and how long until enough of the
 * window has passed. Pure: the caller holds the key's row lock while it checks and records, so two
 * concurrent requests — on one replica or several — cannot both take the last slot.
 */
export function checkWindow(
  entries: readonly WindowEntry[],
  limits: { readonly rpm: number | null; readonly tpm: number | null },
  ask: RateAsk,
  now: number,
  windowMs = RATE_WINDOW_MS,
): RateRefusal | undefined {
  const live = entries.filter((e) => e.at + windowMs > now);
  for (const limit of ["rpm", "tpm"] as const) {
    const max = limits[limit];
    if (max === null) continue;
    const field = limit === "rpm" ? "requests" : "tokens";
    const used = live.reduce((n, e) => n + e[field], 0);
    const excess = used + ask[field] - max;
    if (excess <= 0) continue;
    if (ask[field] > max) {
      const detail = `the request needs ${ask[field]} ${field}; the key allows ${max} per minute`;
      return { limit, retryAfterMs: windowMs, detail };
    }
    let freed = 0;
    for (const e of live) {
      freed += e[field];
      if (freed >= excess) {
        return {
          limit,
          retryAfterMs: Math.max(1, e.at + windowMs - now),
          detail: `the key's ${limit.toUpperCase()} limit of ${max} is reached`,
        };
      }
    }
  }
  return undefined;
}

/** Requests and tokens of the entries inside the window. */
export function windowUsage(
  entries: readonly WindowEntry[],
  now: number,
  windowMs = RATE_WINDOW_MS,
): RateAsk {
  const live = entries.filter((e) => e.at + windowMs > now);
  return {
    requests: live.reduce((n, e) => n + e.requests, 0),
    tokens: live.reduce((n, e) => n + e.tokens, 0),
  };
}
