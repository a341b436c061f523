import { type ErrorCode, ErrorCodes } from "./codes.js";

/**
 * A failure as plain data: a stable code, guidance (`message`: the code's, or one a check gives
 * for a case the code's text does not fit), and an optional detail that names what exactly was
 * wrong (a field, a limit, a value). Protocol functions return these inside a
 * {@link Result} instead of throwing, so every app maps them to its own transport in one place.
 *
 * @example
 * ```ts
 * const e = protocolError("INPUT_TOO_LONG", "prompt has 240 tokens; tier allows 200", "prompt");
 * e.status; // 400
 * ```
 */
export interface ProtocolError {
  readonly code: ErrorCode;
  readonly status: number;
  readonly message: string;
  readonly detail?: string;
  readonly param?: string;
}

/**
 * Builds a {@link ProtocolError} from a code, with an optional detail and parameter name.
 *
 * @example
 * ```ts
 * protocolError("REPLAYED_RELAY").message; // "This relay was already served in this session. ..."
 * ```
 */
export function protocolError(code: ErrorCode, detail?: string, param?: string): ProtocolError {
  const spec = ErrorCodes[code];
  return {
    code,
    status: spec.status,
    message: spec.message,
    ...(detail === undefined ? {} : { detail }),
    ...(param === undefined ? {} : { param }),
  };
}

/**
 * The outcome of a protocol check: the value, or the error that explains the refusal.
 *
 * @example
 * ```ts
 * const r: Result<number> = ok(3);
 * if (r.ok) r.value; // 3
 * ```
 */
export type Result<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly error: ProtocolError };

/**
 * Wraps a value as a successful {@link Result}.
 *
 * @example
 * ```ts
 * ok("fine"); // { ok: true, value: "fine" }
 * ```
 */
export function ok<T>(value: T): Result<T> {
  return { ok: true, value };
}

/**
 * Wraps an error as a failed {@link Result}.
 *
 * @example
 * ```ts
 * fail("UNKNOWN_TIER", "tier 'gold' is not offered by llama-2-13b");
 * ```
 */
export function fail<T = never>(code: ErrorCode, detail?: string, param?: string): Result<T> {
  return { ok: false, error: protocolError(code, detail, param) };
}

/**
 * OpenAI's error body: `{ error: { message, type, param, code } }`. The human message joins the
 * code's guidance with the detail.
 *
 * @example
 * ```ts
 * toOpenAIError(protocolError("INVALID_API_KEY")).error.type; // "authentication_error"
 * ```
 */
export function toOpenAIError(error: ProtocolError): {
  error: { message: string; type: string; param: string | null; code: ErrorCode };
} {
  return {
    error: {
      message: error.detail === undefined ? error.message : `${error.detail}. ${error.message}`,
      type: ErrorCodes[error.code].type,
      param: error.param ?? null,
      code: error.code,
    },
  };
}
