import type { SqlClient } from "@pocket-ai/runtime";
import { Clock, Effect } from "effect";
import { z } from "zod";
import { storeRunner } from "../db/database.js";
import { adminProcedure, router, runProcedure } from "../trpc.js";
import { usageReport } from "./usage-report.js";

const Id = z.string().min(1).max(64);
const EpochMs = z.number().int().nonnegative();

/**
 * `admin.reports.*`: the operator's usage reports from the relay rows. Built over the metering
 * writer, whose queue is written first so the report includes the latest relays.
 */
export function makeReportsRouter(deps: { readonly db: SqlClient; readonly flush: Effect.Effect<void> }) {
  const use = storeRunner(deps.db);
  return router({
    /** Per key, application, service and UTC day: requests, failures, tokens, images, micro-USD. */
    usage: adminProcedure
      .input(
        z
          .object({
            applicationId: Id.optional(),
            keyId: Id.optional(),
            from: EpochMs.optional(),
            to: EpochMs.optional(),
          })
          .optional(),
      )
      .query(({ ctx, input }) =>
        runProcedure(
          ctx,
          Effect.gen(function* () {
            yield* deps.flush;
            const now = yield* Clock.currentTimeMillis;
            return yield* use("reports.usage", (db) => usageReport(db, input ?? {}, now));
          }),
        ),
      ),
  });
}

export type ReportsRouter = ReturnType<typeof makeReportsRouter>;
