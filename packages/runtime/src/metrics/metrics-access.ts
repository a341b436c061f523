import { createHash, timingSafeEqual } from "node:crypto";
import { z } from "zod";

/**
 * Who may read an app's `GET /metrics`. Without `token` (the default) anyone who reaches the port
 * may, as Prometheus scrapes expect; with it, only a request that sends
 * `Authorization: Bearer <token>` (Prometheus: `authorization: { credentials: <token> }`).
 */
export const MetricsConfig = z
  .object({
    token: z.string().min(16, "must be at least 16 characters").optional(),
  })
  .strict();
export type MetricsConfig = z.infer<typeof MetricsConfig>;

const digest = (s: string) => createHash("sha256").update(s, "utf8").digest();

/** The `WWW-Authenticate` header of a refused scrape. */
export const METRICS_CHALLENGE = { "www-authenticate": 'Bearer realm="metrics"' } as const;

/**
 * Checks an `Authorization` header against the configured metrics token: always true without one.
 * Both sides are hashed to 32 bytes first, so the comparison is constant-time whatever the lengths
 * and leaks neither the token nor its length.
 *
 * @example
 * ```ts
 * const mayRead = metricsAccess(config.metrics);
 * if (!mayRead(req.headers.authorization)) refuse(401, "METRICS_UNAUTHORIZED");
 * ```
 */
export function metricsAccess(
  config: MetricsConfig | undefined,
): (authorization: string | undefined) => boolean {
  const token = config?.token;
  if (token === undefined) return () => true;
  const expected = digest(token);
  return (authorization) => {
    const match = /^Bearer +(.+)$/i.exec(authorization ?? "");
    return match !== null && timingSafeEqual(digest(match[1]!), expected);
  };
}
