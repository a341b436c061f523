/**
 * Whether an error, or one it wraps (`cause`, a few levels down: `fetch` wraps the socket's error),
 * is a system error with one of `codes` (`ECONNRESET`, `EMFILE`…).
 *
 * @example
 * ```ts
 * hasSystemErrorCode(new TypeError("fetch failed", { cause: socketError }), new Set(["ECONNRESET"]));
 * ```
 */
export function hasSystemErrorCode(error: unknown, codes: ReadonlySet<string>): boolean {
  let inner: unknown = error;
  for (let depth = 0; inner instanceof Error && depth < 5; depth++) {
    const code = (inner as { code?: unknown }).code;
    if (typeof code === "string" && codes.has(code)) return true;
    inner = inner.cause;
  }
  return false;
}
