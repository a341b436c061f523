import type { IncomingMessage } from "node:http";
import {
  type LinkContext,
  contextFromRequest as linkContextFromRequest,
  publicProcedure,
  runInContext,
} from "@pocket-ai/link";
import { Effect, type Runtime } from "effect";
import type { Accounts } from "./accounts/accounts.js";
import { AdminAuth } from "./admin/admin-auth.js";
import type { Limits } from "./limits/limits.js";
import type { RoutingServices } from "./routing/routing-services.js";
import type { SettlementServices } from "./settlement/settlement-services.js";

export { createCallerFactory, mergeRouters, publicProcedure, router } from "@pocket-ai/link";

/** The services tRPC procedures may use; each side widens its own union. */
export type GatewayServices = Accounts | Limits | AdminAuth | RoutingServices | SettlementServices;

/**
 * Builds the context for `@trpc/server` adapters: the bearer token, the client's network (what
 * `nodes.announce` counts new nodes by) and the gateway's runtime.
 */
export function contextFromRequest(
  runtime: Runtime.Runtime<GatewayServices>,
  options: { readonly clientNetwork?: (req: IncomingMessage) => string } = {},
) {
  return linkContextFromRequest(runtime, options);
}

/**
 * Runs a procedure's Effect on the gateway's runtime (the context's): coded failures become the
 * link's error envelope, anything else a bare INTERNAL_SERVER_ERROR (see `@pocket-ai/link`).
 */
export function runProcedure<A, E>(
  ctx: LinkContext,
  effect: Effect.Effect<A, E, GatewayServices>,
): Promise<A> {
  return runInContext(ctx, effect);
}

/** A procedure only the operator may call: the context's bearer token must match the admin token. */
export const adminProcedure = publicProcedure.use(async ({ ctx, next }) => {
  await runProcedure(
    ctx,
    Effect.flatMap(AdminAuth, (auth) => auth.verify(ctx.bearerToken)),
  );
  return next();
});
