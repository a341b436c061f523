import { type ErrorCode, ErrorCodes } from "@pocket-ai/protocol";
import { APIError } from "openai";
import { ProbeFailed } from "../errors.js";

const knownCode = (code: unknown): code is ErrorCode => typeof code === "string" && code in ErrorCodes;

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
  if (error instanceof APIError) {
    const status = error.status ?? 0;
    const body = error.error as { code?: unknown } | undefined;
    const code = knownCode(error.code)
      ? error.code
      : knownCode(body?.code)
        ? body.code
        : codeOfStatus(error.status);
    return new ProbeFailed({ code, status, reason: error.message });
  }
  const reason = error instanceof Error ? error.message : String(error);
  return new ProbeFailed({ code: "INVALID_NODE_RESPONSE", status: 0, reason });
}
