import { createHash, timingSafeEqual } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";
import { z } from "zod";

/**
 * Who may read an app's `GET /metrics`. By default only a scrape from the app's own machine (a
 * loopback address, not relayed by a proxy): the gateway's figures (revenue by model, node
 * addresses, relay counts) are the operator's business, and its port faces customers. With
 * `token`, any address that sends `Authorization: Bearer <token>` (Prometheus:
 * `authorization: { credentials: <token> }`); with `public: true`, anyone who reaches the port.
 */
export const MetricsConfig = z
  .object({
    token: z.string().min(16, "must be at least 16 characters").optional(),
    public: z.boolean().optional(),
  })
  .strict()
  .refine((c) => c.token === undefined || c.public !== true, {
    message: "metrics.public opens /metrics to anyone, so it cannot go with metrics.token: set one of them",
    path: ["public"],
  });
export type MetricsConfig = z.infer<typeof MetricsConfig>;

const digest = (s: string) => createHash("sha256").update(s, "utf8").digest();

/** The `WWW-Authenticate` header of a scrape refused for its token. */
export const METRICS_CHALLENGE = { "www-authenticate": 'Bearer realm="metrics"' } as const;

/** The part of a request {@link metricsAccess} reads: its headers and the address it came from. */
export interface MetricsRequest {
  readonly headers: IncomingHttpHeaders;
  readonly socket: { readonly remoteAddress?: string | undefined };
}

/** Why a scrape is refused: no or a wrong token, or (without a token) from another machine. */
export type MetricsRefusal = "METRICS_UNAUTHORIZED" | "METRICS_LOCAL_ONLY";

/** Headers a reverse proxy adds: a request that carries one came from further than the socket says. */
const PROXY_HEADERS = ["forwarded", "x-forwarded-for", "x-real-ip", "via"] as const;

/**
 * Whether a socket address is this machine's loopback (127.0.0.0/8, ::1, or either written as an
 * IPv4-mapped IPv6 address, as a server listening on `::` sees IPv4 clients).
 */
export function isLoopbackAddress(address: string | undefined): boolean {
  if (address === undefined) return false;
  const plain = address.toLowerCase().replace(/^::ffff:/, "");
  return /^127(\.\d{1,3}){3}$/.test(plain) || plain === "::1" || plain === "0:0:0:0:0:0:0:1";
}

/**
 * Decides a `GET /metrics`: `undefined` serves it, else the refusal's code. With a token, only
 * `Authorization: Bearer <token>` passes (both sides hashed to 32 bytes first, so the comparison
 * is constant-time and leaks neither the token nor its length); with `public: true`, every
 * request; else only one from a loopback address that carries no proxy's forwarding header (a
 * reverse proxy on the same machine connects from loopback on behalf of anyone).
 *
 * @example
 * ```ts
 * const refusal = metricsAccess(config.metrics);
 * const code = refusal(req); // "METRICS_LOCAL_ONLY" for a scrape from another machine
 * ```
 */
export function metricsAccess(
  config: MetricsConfig | undefined,
): (req: MetricsRequest) => MetricsRefusal | undefined {
  const token = config?.token;
  if (token !== undefined) {
    const expected = digest(token);
    return (req) => {
      const match = /^Bearer +(.+)$/i.exec(req.headers.authorization ?? "");
      return match !== null && timingSafeEqual(digest(match[1]!), expected)
        ? undefined
        : "METRICS_UNAUTHORIZED";
    };
  }
  if (config?.public === true) return () => undefined;
  return (req) =>
    isLoopbackAddress(req.socket.remoteAddress) && PROXY_HEADERS.every((h) => req.headers[h] === undefined)
      ? undefined
      : "METRICS_LOCAL_ONLY";
}
