import type { KeyUsage } from "../limits/limits.js";

/** The length of the gateway's rate windows (sliding, per key). */
const WINDOW_SECONDS = 60;

/**
 * OpenAI's `x-ratelimit-*` headers from the key's window right after this request was reserved:
 * the limit per minute, what is left of it, and when the window is back to its initial state.
 * The window slides over the last minute and this request was just recorded in it, so it is whole
 * again one window from now. `used` is the reservation's read of the window: whole 1 s buckets
 * unless the check read rows (see `checkBuckets`), so `remaining` may be lower than exact by what
 * the key used in the window's oldest second, never higher. A key without a requests (or tokens)
 * limit gets no such headers.
 */
export function rateLimitHeaders(window: KeyUsage["window"]): Record<string, string> {
  const headers: Record<string, string> = {};
  const add = (kind: "requests" | "tokens", limit: number | null, used: number) => {
    if (limit === null) return;
    headers[`x-ratelimit-limit-${kind}`] = String(limit);
    headers[`x-ratelimit-remaining-${kind}`] = String(Math.max(0, limit - used));
    headers[`x-ratelimit-reset-${kind}`] = used > 0 ? `${WINDOW_SECONDS}s` : "0s";
  };
  add("requests", window.rpm, window.requests);
  add("tokens", window.tpm, window.tokens);
  return headers;
}
