import type { GatewayNodeApi } from "@pocket-ai/link";
import { type Context, Effect } from "effect";
import { z } from "zod";
import { adminProcedure, type GatewayServices, router, runProcedure } from "../trpc.js";
import { CLAIM_STATUSES, MAX_CLAIMS_LISTED, WEEK_ID_PATTERN } from "./claim-record.js";
import { Settlement } from "./settlement.js";
import { REPORT_FORMATS } from "./tally-report.js";

const withSettlement = <A, E>(f: (settlement: Context.Tag.Service<Settlement>) => Effect.Effect<A, E>) =>
  Effect.flatMap(Settlement, f);

/**
 * The gateway's side of what nodes call (the link's `GatewayNodeApi`, paths
 * `GATEWAY_PROCEDURES.submitClaim` / `submitProof`). Inputs are `unknown` on purpose: the
 * protocol's verifiers parse and check every byte, and refuse with the protocol's codes.
 */
export const settlementIntake = {
  /** A signed `ClaimSubmission` → `ClaimAck`. */
  submitClaim: (input: unknown) => withSettlement((s) => s.submitClaim(input)),
  /** A signed `ProofSubmission` → `ProofAck`. */
  submitProof: (input: unknown) => withSettlement((s) => s.submitProof(input)),
} satisfies Pick<GatewayNodeApi<GatewayServices>, "submitClaim" | "submitProof">;

const WeekId = z.string().regex(WEEK_ID_PATTERN, "an ISO week id like 2026-W48");

/** The operator's settlement administration (mounted at `admin.settlement`). */
export const settlementAdminRouter = router({
  rates: router({
    /** Sets a week's POKT price in µUSD per POKT ($0.25 = 250000); final once a claim pinned it. */
    set: adminProcedure
      .input(z.object({ weekId: WeekId, rateMicroUsdPerPokt: z.number().int().positive() }))
      .mutation(({ ctx, input }) =>
        runProcedure(
          ctx,
          withSettlement((s) => s.setWeeklyRate(input.weekId, input.rateMicroUsdPerPokt)),
        ),
      ),
    list: adminProcedure.query(({ ctx }) =>
      runProcedure(
        ctx,
        withSettlement((s) => s.listRates()),
      ),
    ),
  }),
  tally: router({
    /** Minted, charged and burned per operator and service for a week, with totals. */
    week: adminProcedure.input(z.object({ weekId: WeekId })).query(({ ctx, input }) =>
      runProcedure(
        ctx,
        withSettlement((s) => s.weeklyTally(input.weekId)),
      ),
    ),
  }),
  report: router({
    /** The week's tally as a CSV or JSON document (a string). */
    export: adminProcedure
      .input(z.object({ weekId: WeekId, format: z.enum(REPORT_FORMATS).default("csv") }))
      .query(({ ctx, input }) =>
        runProcedure(
          ctx,
          withSettlement((s) => s.report(input.weekId, input.format)),
        ),
      ),
  }),
  claims: router({
    list: adminProcedure
      .input(
        z
          .object({
            weekId: WeekId.optional(),
            status: z.enum(CLAIM_STATUSES).optional(),
            limit: z.number().int().min(1).max(MAX_CLAIMS_LISTED).optional(),
          })
          .optional(),
      )
      .query(({ ctx, input }) =>
        runProcedure(
          ctx,
          withSettlement((s) => s.listClaims(input ?? {})),
        ),
      ),
  }),
});

export type SettlementAdminRouter = typeof settlementAdminRouter;
