import { makeGatewayNodeRouter } from "@pocket-ai/link";
import type { SqlClient } from "@pocket-ai/runtime";
import type { Effect } from "effect";
import { adminRouter } from "../admin/admin-router.js";
import { makeReportsRouter } from "../metering/reports-router.js";
import { makeKeyRolesRouter } from "../openai/key-roles.js";
import { makePortalAdminRouter } from "../portal/portal-admin-router.js";
import { nodeAnnouncements, nodesAdminRouter } from "../registry/nodes-router.js";
import { settlementAdminRouter, settlementIntake } from "../settlement/settlement-router.js";
import { type GatewayServices, mergeRouters, router } from "../trpc.js";

/** What nodes call (`nodes.announce`, `settlement.submitClaim/submitProof`): the link's contract. */
export const gatewayNodeRouter = makeGatewayNodeRouter<GatewayServices>({
  ...nodeAnnouncements,
  ...settlementIntake,
});

/**
 * The gateway's tRPC API at `/trpc/*`:
 * - `admin.*`: the operator's API (admin token): applications, keys, limits and usage from the
 *   accounts side, plus `admin.reports` (usage by key/app/service/day) and `admin.keyRoles`
 *   (evaluator keys) from the front door;
 * - `nodes.announce`, `settlement.submitClaim` and `settlement.submitProof`: what nodes call, the
 *   link's `GatewayNodeRouter` (see {@link gatewayNodeRouter});
 * - `admin.nodes.*` from the routing side and `admin.settlement.*` (rates, tally, claims).
 */
export function makeAppRouter(deps: { readonly db: SqlClient; readonly flushMetering: Effect.Effect<void> }) {
  const frontDoorAdmin = router({
    reports: makeReportsRouter({ db: deps.db, flush: deps.flushMetering }),
    keyRoles: makeKeyRolesRouter(deps.db),
    settlement: settlementAdminRouter,
    nodes: nodesAdminRouter,
    portal: makePortalAdminRouter(deps.db),
  });
  return mergeRouters(gatewayNodeRouter, router({ admin: mergeRouters(adminRouter, frontDoorAdmin) }));
}

/** The app router's type, for typed clients (`import type` only: it names server types). */
export type GatewayAppRouter = ReturnType<typeof makeAppRouter>;
