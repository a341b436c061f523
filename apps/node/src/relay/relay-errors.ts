import { type ErrorCode, ErrorCodes, type ProtocolError, protocolError } from "@pocket-ai/protocol";
import { Data } from "effect";
import type { BackendBusy, BackendError } from "../backends/backend.js";

/** The envelope could not be verified: the transport answers with this code; nothing is signed. */
export class EnvelopeRejected extends Data.TaggedError("EnvelopeRejected")<{
  readonly code: ErrorCode;
  readonly detail?: string | undefined;
}> {
  static of(error: ProtocolError): EnvelopeRejected {
    return new EnvelopeRejected({ code: error.code, detail: error.detail });
  }

  override get message(): string {
    const guidance = ErrorCodes[this.code].message;
    return this.detail === undefined ? guidance : `${this.detail}. ${guidance}`;
  }
}

/** Maps a backend failure to the stable code a signed error response carries. */
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
        return ["BACKEND_ERROR", `the backend refused the request (HTTP ${error.status})`];
    }
  })();
  return protocolError(code, detail);
}
