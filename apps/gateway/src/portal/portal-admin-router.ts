import type { SqlClient } from "@pocket-ai/runtime";
import { Effect } from "effect";
import { z } from "zod";
import { adminProcedure, router, runProcedure } from "../trpc.js";
import { refuse } from "./portal-errors.js";
import { portalStore } from "./portal-store.js";

/**
 * `admin.portal.*` (admin token): the operator's hold on portal accounts. `setRole` makes an
 * account an administrator of the web console (or takes that away); the account must exist.
 */
export function makePortalAdminRouter(db: SqlClient) {
  const store = portalStore(db);
  return router({
    setRole: adminProcedure
      .input(z.object({ email: z.string().min(3).max(254), role: z.enum(["customer", "admin"]) }))
      .mutation(({ ctx, input }) =>
        runProcedure(
          ctx,
          Effect.gen(function* () {
            const email = input.email.trim().toLowerCase();
            const changed = yield* Effect.promise(() => store.setRole(email, input.role));
            if (changed === 0)
              return yield* Effect.fail(
                refuse("INVALID_REQUEST", `No portal account ${email}: sign up at /portal/ first.`),
              );
            return { email, role: input.role };
          }),
        ),
      ),
    accounts: adminProcedure.query(({ ctx }) =>
      runProcedure(
        ctx,
        Effect.promise(async () => ({ count: await store.countUsers() })),
      ),
    ),
  });
}
