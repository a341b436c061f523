import type { SqlClient } from "@pocket-ai/runtime";
import { sql } from "drizzle-orm";
import { Effect } from "effect";
import { z } from "zod";
import { storeRunner } from "../db/database.js";
import { adminProcedure, router, runProcedure } from "../trpc.js";

/** `evaluator` keys may pin a relay to one node (`x-pocket-target-node`); `application` keys may not. */
export const KeyRole = z.enum(["application", "evaluator"]);
export type KeyRole = z.infer<typeof KeyRole>;

/**
 * A key's role, read straight from `api_keys.role` (Accounts does not carry it: only evaluator
 * traffic asks, so the relay path of ordinary keys pays nothing for it).
 */
export function keyRoleOf(db: SqlClient, keyId: string): Effect.Effect<KeyRole | undefined, never> {
  return storeRunner(db)("apiKeys.role", (d) =>
    d.get<{ role: KeyRole }>(sql`select role from api_keys where id = ${keyId}`),
  ).pipe(
    Effect.map((row) => row?.role),
    Effect.orElseSucceed(() => undefined),
  );
}

/** `admin.keyRoles.*`: make a key an evaluator key (or back). */
export function makeKeyRolesRouter(db: SqlClient) {
  const use = storeRunner(db);
  return router({
    set: adminProcedure
      .input(z.object({ keyId: z.string().min(1).max(64), role: KeyRole }))
      .mutation(({ ctx, input }) =>
        runProcedure(
          ctx,
          use("apiKeys.setRole", (d) =>
            d.run(sql`update api_keys set role = ${input.role} where id = ${input.keyId}`),
          ).pipe(Effect.map((changes) => ({ keyId: input.keyId, role: input.role, updated: changes === 1 }))),
        ),
      ),
  });
}
