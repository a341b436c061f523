import { type ErrorCode, ErrorCodes } from "@pocket-ai/protocol";
import { hasSystemErrorCode } from "@pocket-ai/runtime";
import { APIConnectionError, APIConnectionTimeoutError, APIError } from "openai";
import { ProbeFailed } from "../errors.js";

/** A protocol code, by the table's own keys: an inherited `constructor` or `toString` is none. */
const knownCode = (code: unknown): code is ErrorCode =>
  typeof code === "string" && Object.hasOwn(ErrorCodes, code);

function codeOfStatus(status: number | undefined): ErrorCode {
  if (status === undefined) return "BACKEND_UNAVAILABLE";
  if (status === 401) return "INVALID_API_KEY";
  if (status === 404) return "UNKNOWN_MODEL";
  if (status === 429) return "RATE_LIMITED";
  if (status === 504) return "TIMEOUT";
  if (status >= 500) return "BACKEND_ERROR";
  return "INVALID_REQUEST";
}

/**
 * The one place where an HTTP/OpenAI client failure becomes a `ProbeFailed`: the gateway's stable
 * Pocket code when its error body carries one, else a code chosen from the HTTP status.
 */
export function probeFailureOf(error: unknown): ProbeFailed {
  // The client's own timeout: as slow as the evaluator's (`ProbeTimeout`), whichever fires first.
  if (error instanceof APIConnectionTimeoutError)
    return new ProbeFailed({ code: "TIMEOUT", status: 0, reason: error.message });
  // No HTTP answer at all: the evaluator could not reach the gateway, whatever the node does.
  if (error instanceof APIConnectionError)
    return new ProbeFailed({
      code: "BACKEND_UNAVAILABLE",
      status: 0,
      reason: `no answer from the gateway (${causeOf(error)})`,
      unreachable: true,
    });
  if (error instanceof APIError) {
    const status = error.status ?? 0;
    const body = error.error as { code?: unknown } | undefined;
    const pocket = knownCode(error.code) ? error.code : knownCode(body?.code) ? body.code : undefined;
    // Every error a gateway answers carries its code: a server error without one came from
    // something in front of it (a load balancer whose gateway is down), not from the node.
    if (pocket === undefined && status >= 500)
      return new ProbeFailed({
        code: "BACKEND_UNAVAILABLE",
        status,
        reason: `the gateway's address answered HTTP ${status} without a Pocket error code (a proxy in front of a gateway that is down?)`,
        unreachable: true,
      });
    // The gateway's passing trouble (its database, its restart): the probe is sent again, as after
    // a dropped connection, and stays excused if that trouble lasts.
    if (pocket !== undefined && PASSING_GATEWAY_TROUBLE.has(pocket))
      return new ProbeFailed({ code: pocket, status, reason: error.message, unreachable: true });
    const code = pocket ?? codeOfStatus(error.status);
    // The gateway's own refusal that passes, with when to ask again (its rate windows).
    const retryAfterMs = code === "RATE_LIMITED" ? retryAfterOf(error.headers) : undefined;
    return new ProbeFailed({
      code,
      status,
      reason: error.message,
      ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
    });
  }
  // The connection to the gateway broke while the answer streamed: the gateway ends a stream a
  // node failed with an error event, so a cut without one is the link's, not the node's.
  if (brokenConnection(error))
    return new ProbeFailed({
      code: "BACKEND_UNAVAILABLE",
      status: 0,
      reason: `the connection to the gateway broke mid-answer (${causeOf(error as Error)})`,
      unreachable: true,
    });
  const reason = error instanceof Error ? error.message : String(error);
  return new ProbeFailed({ code: "INVALID_NODE_RESPONSE", status: 0, reason });
}

/** A `Retry-After` header in milliseconds: delay-seconds, or an HTTP date (RFC 9110 §10.2.3). */
function retryAfterOf(headers: Headers | undefined): number | undefined {
  const value = headers?.get("retry-after")?.trim();
  if (value === undefined || value === "") return undefined;
  if (/^\d+$/.test(value)) return Number(value) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

/** Codes of a gateway that cannot serve for a moment, whatever the node. */
const PASSING_GATEWAY_TROUBLE: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  "DATABASE_UNAVAILABLE",
  "GATEWAY_SHUTTING_DOWN",
  "UPLOADS_BUSY",
]);

/** Socket errors of a connection that broke (reset, closed, cut mid-body), as fetch reports them. */
const BROKEN_CONNECTION = new Set([
  "ECONNRESET",
  "EPIPE",
  "UND_ERR_SOCKET",
  "UND_ERR_CLOSED",
  "ECONNREFUSED",
]);

function brokenConnection(error: unknown): boolean {
  // undici's "terminated": the body ended before it was whole.
  if (error instanceof TypeError && error.message === "terminated") return true;
  return hasSystemErrorCode(error, BROKEN_CONNECTION);
}
/** The innermost cause's wording (`connect ECONNREFUSED 127.0.0.1:8080`), else the error's own. */
function causeOf(error: Error): string {
  let inner: unknown = error;
  while (inner instanceof Error && inner.cause instanceof Error) inner = inner.cause;
  return inner instanceof Error ? inner.message : error.message;
}
