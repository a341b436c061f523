import { type ErrorCode, ErrorCodes } from "@pocket-ai/protocol";
import type { TRPC_ERROR_CODE_KEY } from "@trpc/server";

/** The tRPC code for each HTTP status the protocol's error table uses. */
const TRPC_CODE_BY_STATUS: Readonly<Record<number, TRPC_ERROR_CODE_KEY>> = {
  400: "BAD_REQUEST",
  401: "UNAUTHORIZED",
  402: "PAYMENT_REQUIRED",
  403: "FORBIDDEN",
  404: "NOT_FOUND",
  405: "METHOD_NOT_SUPPORTED",
  409: "CONFLICT",
  413: "PAYLOAD_TOO_LARGE",
  429: "TOO_MANY_REQUESTS",
  500: "INTERNAL_SERVER_ERROR",
  502: "BAD_GATEWAY",
  503: "SERVICE_UNAVAILABLE",
  504: "GATEWAY_TIMEOUT",
};

/** The HTTP status of a protocol code, from the protocol's error table. */
export function httpStatusOf(code: ErrorCode): number {
  return ErrorCodes[code].status;
}

/**
 * The tRPC code a protocol code travels under, derived from the table's HTTP status (so the tRPC
 * answer has the same HTTP status an HTTP front door would send).
 */
export function trpcCodeOf(code: ErrorCode): TRPC_ERROR_CODE_KEY {
  return TRPC_CODE_BY_STATUS[httpStatusOf(code)] ?? "INTERNAL_SERVER_ERROR";
}
