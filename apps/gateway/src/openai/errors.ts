import {
  type ErrorCode,
  ErrorCodes,
  type ProtocolError,
  protocolError,
  toOpenAIError,
} from "@pocket-ai/protocol";
import { Data } from "effect";
import type { InvalidApiKey } from "../accounts/errors.js";
import type { StorageError } from "../db/database.js";
import type { BudgetExhausted, RateLimited } from "../limits/errors.js";
import type { DispatchError } from "../relay/dispatcher.js";

/**
 * The front door refused a request before dispatch: a protocol check failed (schema, model name,
 * limits), the body was unreadable, or the route does not exist. `status` overrides the code's
 * HTTP status where HTTP has a sharper word (404 route or item, 405 method, 413 body size, 415
 * body encoding).
 */
export class RequestRefused extends Data.TaggedError("RequestRefused")<{
  readonly code: ErrorCode;
  readonly detail?: string | undefined;
  readonly param?: string | undefined;
  readonly status?: 404 | 405 | 413 | 415 | undefined;
  /** A 405's `Allow` header: the methods the route takes. */
  readonly allow?: string | undefined;
  /** A 415's `Accept-Encoding` header (RFC 7694) when the body's encoding was refused: what is taken. */
  readonly acceptEncoding?: string | undefined;
  /** A 503's `Retry-After` header, in seconds: when the caller may try again. */
  readonly retryAfterSeconds?: number | undefined;
}> {
  static of(error: ProtocolError): RequestRefused {
    return new RequestRefused({ code: error.code, detail: error.detail, param: error.param });
  }
}

/** Everything the `/v1/*` front door can fail with. */
export type FrontDoorFailure =
  | RequestRefused
  | InvalidApiKey
  | RateLimited
  | BudgetExhausted
  | DispatchError
  | StorageError;

export interface HttpError {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: ReturnType<typeof toOpenAIError>;
}

/**
 * THE mapping of front-door failures to HTTP statuses, headers and OpenAI error bodies. Internal
 * failures say nothing about their cause (paths, SQL): only the code's guidance goes out.
 */
export function httpErrorOf(failure: FrontDoorFailure): HttpError {
  switch (failure._tag) {
    case "RequestRefused": {
      const body = toOpenAIError(protocolError(failure.code, failure.detail, failure.param));
      const status = failure.status ?? ErrorCodes[failure.code].status;
      const headers: Record<string, string> = {};
      if (failure.allow !== undefined) headers.allow = failure.allow;
      if (failure.acceptEncoding !== undefined) headers["accept-encoding"] = failure.acceptEncoding;
      if (failure.retryAfterSeconds !== undefined) headers["retry-after"] = String(failure.retryAfterSeconds);
      return { status, headers, body };
    }
    case "InvalidApiKey":
      return plain("INVALID_API_KEY");
    case "RateLimited":
      return {
        ...plain("RATE_LIMITED", failure.detail),
        headers: { "retry-after": String(Math.max(1, Math.ceil(failure.retryAfterMs / 1000))) },
      };
    case "BudgetExhausted":
      return plain(
        "BUDGET_EXHAUSTED",
        `the key's budget left is less than the ${failure.costMicroUsd} micro-USD this request holds until it settles`,
      );
    case "DispatchError":
      // The routing detail names nodes and attempts: useful to the operator's logs, not the caller.
      // A refusal the gateway believed is the exception: the caller reads what it must change (an
      // engine's cleaned reason, or the gateway's own recheck of a node's signed code).
      return plain(
        failure.code,
        failure.clientDetail ?? (failure.attempts > 1 ? `${failure.attempts} nodes tried` : undefined),
        failure.param,
      );
    case "StorageError":
      // The gateway's own database failed (disk, server gone): a 503 the caller retries, never a
      // 500 that reads as a bug, nor anything a client measuring nodes would blame a node for.
      return plain("DATABASE_UNAVAILABLE");
  }
}

function plain(code: ErrorCode, detail?: string, param?: string): HttpError {
  return {
    status: ErrorCodes[code].status,
    headers: {},
    body: toOpenAIError(protocolError(code, detail, param)),
  };
}

/** The OpenAI-shaped error event that ends a stream which failed after its first byte. */
export function streamErrorEvent(code: ErrorCode, detail?: string, requestId?: string) {
  const body = toOpenAIError(protocolError(code, detail));
  return requestId === undefined ? body : { error: { ...body.error, request_id: requestId } };
}
