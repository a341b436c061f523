import { eq } from "drizzle-orm";
import { Effect } from "effect";
import { z } from "zod";
import { type GatewayDb, statementRunner } from "../db/database.js";
import { apiKeys } from "../db/schema.js";
import { adminProcedure, router, runProcedure } from "../trpc.js";

/** `evaluator` keys may pin a relay to one node (`x-pocket-target-node`); `application` keys may not. */
export const KeyRole = z.enum(["application", "evaluator"]);
export type KeyRole = z.infer<typeof KeyRole>;

/**
 * A key's role, read straight from `api_keys.role` (Accounts does not carry it: only evaluator
 * traffic asks, so the relay path of ordinary keys pays nothing for it).
 */
export function keyRoleOf(db: GatewayDb, keyId: string): Effect.Effect<KeyRole | undefined, never> {
  return statementRunner(db)("apiKeys.role", (d) =>
    d.select({ role: apiKeys.role }).from(apiKeys).where(eq(apiKeys.id, keyId)).get(),
  ).pipe(
    Effect.map((row) => row?.role),
    Effect.orElseSucceed(() => undefined),
  );
}

/** `admin.keyRoles.*`: make a key an evaluator key (or back). */
export function makeKeyRolesRouter(db: GatewayDb) {
  const use = statementRunner(db);
  return router({
    set: adminProcedure
      .input(z.object({ keyId: z.string().min(1).max(64), role: KeyRole }))
      .mutation(({ ctx, input }) =>
        runProcedure(
          ctx,
          use("apiKeys.setRole", (d) =>
            d.update(apiKeys).set({ role: input.role }).where(eq(apiKeys.id, input.keyId)).run(),
          ).pipe(Effect.map((r) => ({ keyId: input.keyId, role: input.role, updated: r.changes === 1 }))),
        ),
      ),
  });
}
