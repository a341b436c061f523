import { ErrorCodes, type ProtocolError } from "@pocket-ai/protocol";
import { initTRPC, TRPCError } from "@trpc/server";

/**
 * The node's one tRPC instance. Errors carry the protocol's stable code as `data.pocketCode`, so
 * a gateway (or any client) branches on the code, never on message text.
 */
const t = initTRPC.create({
  errorFormatter({ shape, error }) {
    const cause = error.cause as { pocketCode?: unknown; detail?: unknown } | undefined;
    const pocketCode = typeof cause?.pocketCode === "string" ? cause.pocketCode : undefined;
    return { ...shape, data: { ...shape.data, stack: undefined, pocketCode, detail: cause?.detail } };
  },
});

export const router = t.router;
export const publicProcedure = t.procedure;

class PocketCause extends Error {
  constructor(
    readonly pocketCode: string,
    readonly detail: string | undefined,
  ) {
    super(pocketCode);
  }
}

/** A tRPC error for a protocol error: HTTP-like tRPC code from the status, the stable code in `data`. */
export function trpcErrorOf(error: ProtocolError): TRPCError {
  const status = ErrorCodes[error.code].status;
  const code =
    status === 401
      ? "UNAUTHORIZED"
      : status === 403
        ? "FORBIDDEN"
        : status === 404
          ? "NOT_FOUND"
          : status === 409
            ? "CONFLICT"
            : status === 429
              ? "TOO_MANY_REQUESTS"
              : status < 500
                ? "BAD_REQUEST"
                : "INTERNAL_SERVER_ERROR";
  const message = error.detail === undefined ? error.message : `${error.detail}. ${error.message}`;
  return new TRPCError({ code, message, cause: new PocketCause(error.code, error.detail) });
}
