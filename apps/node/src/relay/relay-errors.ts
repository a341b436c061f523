import {
  type ErrorCode,
  ErrorCodes,
  type ProtocolError,
  protocolError,
  sanitizeEngineMessage,
} from "@pocket-ai/protocol";
import { Data } from "effect";
import type { BackendBusy, BackendError } from "../backends/backend.js";

/** The envelope could not be verified: the transport answers with this code; nothing is signed. */
export class EnvelopeRejected extends Data.TaggedError("EnvelopeRejected")<{
  readonly code: ErrorCode;
  readonly detail?: string | undefined;
  /** What to do, where the protocol's check said it for this case (absent: the code's guidance). */
  readonly guidance?: string | undefined;
}> {
  static of(error: ProtocolError): EnvelopeRejected {
    const own = error.message !== ErrorCodes[error.code].message;
    return new EnvelopeRejected({
      code: error.code,
      detail: error.detail,
      ...(own ? { guidance: error.message } : {}),
    });
  }

  override get message(): string {
    const guidance = this.guidance ?? ErrorCodes[this.code].message;
    return this.detail === undefined ? guidance : `${this.detail}. ${guidance}`;
  }
}

/**
 * Engine statuses that refuse the request itself (bad request, body too large, validation failed):
 * the same request fails on every engine, so the node signs `ENGINE_REJECTED` with the engine's
 * reason, and the gateway passes it to the client as a 400. Every other engine status (401/403: the
 * node's key is wrong; 404: the node's model name is wrong; 5xx...) is the node's trouble.
 */
const ENGINE_REQUEST_STATUSES: ReadonlySet<number> = new Set([400, 413, 422]);

/**
 * Maps a backend failure to the stable code a signed error response carries. An engine's refusal
 * keeps its reason, cleaned (`sanitizeEngineMessage`: no paths, URLs, stack frames or control
 * characters, bounded length), since the client must learn what to change.
 */
export function backendFailure(error: BackendError | BackendBusy): ProtocolError {
  const [code, detail]: [ErrorCode, string] = (() => {
    switch (error._tag) {
      case "BackendBusy":
        return ["NODE_BUSY", `every backend slot and queue place for ${error.serviceId} is taken`];
      case "BackendTimeout":
        return ["TIMEOUT", `the backend did not answer within ${error.timeoutMs} ms`];
      case "BackendUnavailable":
        return ["BACKEND_UNAVAILABLE", "the backend could not be reached"];
      case "BackendRejected":
        return ENGINE_REQUEST_STATUSES.has(error.status)
          ? ["ENGINE_REJECTED", `the engine refused the request: ${sanitizeEngineMessage(error.reason)}`]
          : ["BACKEND_ERROR", `the backend refused the request (HTTP ${error.status})`];
    }
  })();
  return protocolError(code, detail);
}
