import type { IncomingMessage, ServerResponse } from "node:http";
import { Effect } from "effect";

/** Writes a whole JSON answer (no-op if the client has gone or headers are already out). */
export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Readonly<Record<string, string>> = {},
): void {
  if (res.headersSent || res.destroyed) return;
  const text = JSON.stringify(body);
  res.writeHead(status, {
    ...headers,
    "content-type": "application/json",
    "content-length": String(Buffer.byteLength(text)),
  });
  res.end(text);
}

/**
 * How long a client may leave a streamed answer unread (its socket's buffer full) before the
 * gateway takes it for gone: the connection is closed and the stream settled as a client that
 * left (billed for what reached it). A client that reads, however slowly, drains well within it;
 * one that holds a stream open without reading would otherwise hold the relay, its node's stream
 * and its budget hold for as long as it liked.
 */
export const CLIENT_UNREAD_LIMIT_MS = 60_000;

/**
 * Resolves when `res` can take more (`drain`) or is gone (`close`). A client that takes nothing
 * for `unreadLimitMs` is disconnected (`res.destroy()`), which ends the wait as a close.
 */
export function drained(res: ServerResponse, unreadLimitMs = CLIENT_UNREAD_LIMIT_MS): Promise<void> {
  return new Promise((resolve) => {
    if (res.destroyed || res.writableEnded) return resolve();
    const stalled = setTimeout(() => res.destroy(), unreadLimitMs);
    const done = () => {
      clearTimeout(stalled);
      res.off("drain", done);
      res.off("close", done);
      resolve();
    };
    res.on("drain", done);
    res.on("close", done);
  });
}

/**
 * Writes a piece of a streamed answer, waiting for the socket to drain when its buffer is full so
 * a slow client slows the relay down instead of growing memory. Resolves at once when the client
 * has gone (the request's fiber is being interrupted then anyway).
 */
export function writeChunk(res: ServerResponse, text: string): Effect.Effect<void> {
  return Effect.suspend(() => {
    if (res.destroyed || res.writableEnded || res.write(text)) return Effect.void;
    return Effect.promise(() => drained(res));
  });
}

/** CORS answer headers for a request, given the allowed origins (`"*"` allows any). */
export function corsHeaders(req: IncomingMessage, origins: readonly string[]): Record<string, string> {
  const origin = req.headers.origin;
  if (origin === undefined) return {};
  const any = origins.includes("*");
  if (!any && !origins.includes(origin)) return {};
  return {
    "access-control-allow-origin": any ? "*" : origin,
    "access-control-expose-headers":
      "x-pocket-service, x-pocket-tier, x-pocket-node, x-pocket-relay, x-request-id, retry-after, " +
      "x-ratelimit-limit-requests, x-ratelimit-remaining-requests, x-ratelimit-reset-requests, " +
      "x-ratelimit-limit-tokens, x-ratelimit-remaining-tokens, x-ratelimit-reset-tokens, allow, accept-encoding",
    ...(any ? {} : { vary: "Origin" }),
  };
}

/** Extra headers of a preflight (`OPTIONS`) answer. */
export function preflightHeaders(req: IncomingMessage): Record<string, string> {
  return {
    "access-control-allow-methods": "GET, POST, OPTIONS",
    "access-control-allow-headers":
      req.headers["access-control-request-headers"] ??
      "authorization, content-type, x-pocket-target-node, x-request-id, openai-organization, openai-project",
    "access-control-max-age": "600",
  };
}
