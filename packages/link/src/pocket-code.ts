import { type ErrorCode, ErrorCodes } from "@pocket-ai/protocol";
import { TRPCClientError } from "@trpc/client";

/** Whether a value is one of the protocol's error codes (own keys only: `toString` is not a code). */
export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === "string" && Object.hasOwn(ErrorCodes, value);
}

/** A failure that carries a protocol code: tagged errors expose `code`, some a `detail` too. */
export interface CodedFailure {
  readonly code: ErrorCode;
  readonly message: string;
  readonly detail?: string | undefined;
}

/** The protocol code a server-side failure carries (its `code` field), if it is one. */
export function codeOfFailure(failure: unknown): ErrorCode | undefined {
  if (typeof failure !== "object" || failure === null || !("code" in failure)) return undefined;
  return isErrorCode(failure.code) ? failure.code : undefined;
}

/**
 * Whether a tRPC client error is the server's coded answer: its envelope carries a `pocketCode`
 * string, one this version knows or a newer one. Such an answer is final for the call (sending
 * the same request again gets it again); only an error without one is a transport fault.
 */
export function isCodedAnswer(error: unknown): boolean {
  return typeof envelopeOf(error)?.pocketCode === "string";
}

/** The `detail` string a coded failure carries, if any. */
export function detailOfFailure(failure: unknown): string | undefined {
  if (typeof failure !== "object" || failure === null || !("detail" in failure)) return undefined;
  return typeof failure.detail === "string" ? failure.detail : undefined;
}

function envelopeOf(
  error: unknown,
): { readonly pocketCode?: unknown; readonly detail?: unknown } | undefined {
  if (!(error instanceof TRPCClientError)) return undefined;
  const data: unknown = error.data;
  return typeof data === "object" && data !== null ? data : undefined;
}

/**
 * The protocol code a tRPC client error carries in its envelope (`data.pocketCode`). Anything
 * else — a transport failure, an unknown or missing code, a value that is not a client error —
 * is `undefined`; this never throws.
 */
export function pocketCodeOf(error: unknown): ErrorCode | undefined {
  const code = envelopeOf(error)?.pocketCode;
  return isErrorCode(code) ? code : undefined;
}

/** The envelope's `detail` (what exactly was wrong), if the server sent one. */
export function pocketDetailOf(error: unknown): string | undefined {
  const detail = envelopeOf(error)?.detail;
  return typeof detail === "string" ? detail : undefined;
}
