import type { IncomingMessage } from "node:http";
import { type ErrorCode, ErrorCodes } from "@pocket-ai/protocol";
import { initTRPC, type TRPC_ERROR_CODE_KEY, TRPCError } from "@trpc/server";
import { Cause, Effect, Exit, Option, Runtime } from "effect";
import type { Accounts } from "./accounts/accounts.js";
import { bearerToken } from "./accounts/api-key-format.js";
import { AdminAuth } from "./admin/admin-auth.js";
import type { Limits } from "./limits/limits.js";
import type { RoutingServices } from "./routing/routing-services.js";
import type { SettlementServices } from "./settlement/settlement-services.js";

/** The services tRPC procedures may use; each side widens its own union. */
export type GatewayServices = Accounts | Limits | AdminAuth | RoutingServices | SettlementServices;

/**
 * Per-request context. `adminToken` is the `Authorization: Bearer` value of the request (see
 * {@link contextFromRequest}); `runtime` runs procedures' Effects with the app's services.
 */
export interface GatewayContext {
  readonly adminToken?: string | undefined;
  readonly runtime: Runtime.Runtime<GatewayServices>;
}

/** Builds the context for `@trpc/server` adapters that hand over a Node request. */
export function contextFromRequest(runtime: Runtime.Runtime<GatewayServices>) {
  return ({ req }: { req: IncomingMessage }): GatewayContext => ({
    adminToken: bearerToken(req.headers.authorization),
    runtime,
  });
}

/** The protocol code an error carries (tagged errors expose `code`), if it is one. */
export function pocketCodeOf(cause: unknown): ErrorCode | undefined {
  if (typeof cause !== "object" || cause === null || !("code" in cause)) return undefined;
  const code = cause.code;
  return typeof code === "string" && Object.hasOwn(ErrorCodes, code) ? (code as ErrorCode) : undefined;
}

const t = initTRPC.context<GatewayContext>().create({
  errorFormatter({ shape, error }) {
    const pocketCode =
      pocketCodeOf(error.cause) ?? (error.code === "BAD_REQUEST" ? "INVALID_REQUEST" : undefined);
    return { ...shape, data: { ...shape.data, pocketCode: pocketCode ?? null } };
  },
});

export const router = t.router;
export const mergeRouters = t.mergeRouters;
export const publicProcedure = t.procedure;
export const createCallerFactory = t.createCallerFactory;

const TRPC_CODE_BY_STATUS: Record<number, TRPC_ERROR_CODE_KEY> = {
  400: "BAD_REQUEST",
  401: "UNAUTHORIZED",
  402: "PAYMENT_REQUIRED",
  403: "FORBIDDEN",
  404: "NOT_FOUND",
  409: "CONFLICT",
  429: "TOO_MANY_REQUESTS",
  502: "BAD_GATEWAY",
  503: "SERVICE_UNAVAILABLE",
  504: "GATEWAY_TIMEOUT",
};

/**
 * Runs a procedure's Effect. A failure that carries a protocol code becomes a `TRPCError` with the
 * code's HTTP meaning and the failure as its `cause` (so the formatter adds `pocketCode`); anything
 * else — defects, interruptions, internal errors — is a bare INTERNAL_SERVER_ERROR that leaks nothing.
 */
export async function runProcedure<A, E>(
  ctx: GatewayContext,
  effect: Effect.Effect<A, E, GatewayServices>,
): Promise<A> {
  const exit = await Runtime.runPromiseExit(ctx.runtime)(effect);
  if (Exit.isSuccess(exit)) return exit.value;
  const failure = Option.getOrUndefined(Cause.failureOption(exit.cause));
  const code = pocketCodeOf(failure);
  if (code === undefined || code === "INTERNAL") {
    throw new TRPCError({ code: "INTERNAL_SERVER_ERROR", message: ErrorCodes.INTERNAL.message });
  }
  const status = ErrorCodes[code].status;
  const message =
    failure instanceof Error && failure.message !== "" ? failure.message : ErrorCodes[code].message;
  throw new TRPCError({
    code: TRPC_CODE_BY_STATUS[status] ?? "INTERNAL_SERVER_ERROR",
    message,
    cause: failure,
  });
}

/** A procedure only the operator may call: the context's token must match the admin token. */
export const adminProcedure = t.procedure.use(async ({ ctx, next }) => {
  await runProcedure(ctx, AdminAuth.pipe(Effect.flatMap((auth) => auth.verify(ctx.adminToken))));
  return next();
});
