import { Effect } from "effect";
import { z } from "zod";
import { Accounts } from "../accounts/accounts.js";
import { Limits } from "../limits/limits.js";
import { adminProcedure, router, runProcedure } from "../trpc.js";

const Id = z.string().min(1).max(64);
const Name = z.string().trim().min(1).max(100);
/** Requests or tokens per minute; `null` lifts the limit. */
const PerMinute = z.number().int().positive().max(1_000_000_000).nullable();
const MicroUsd = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER).nullable();
const Limits_ = { rpm: PerMinute.optional(), tpm: PerMinute.optional(), budgetMicroUsd: MicroUsd.optional() };

const usageOfKey = (keyId: string) => Effect.flatMap(Limits, (limits) => limits.usage(keyId));

const applicationsRouter = router({
  create: adminProcedure
    .input(z.object({ name: Name, operator: Name.optional() }))
    .mutation(({ ctx, input }) =>
      runProcedure(
        ctx,
        Effect.flatMap(Accounts, (a) => a.createApplication(input)),
      ),
    ),
  list: adminProcedure.query(({ ctx }) =>
    runProcedure(
      ctx,
      Effect.flatMap(Accounts, (a) => a.listApplications()),
    ),
  ),
  disable: adminProcedure.input(z.object({ applicationId: Id })).mutation(({ ctx, input }) =>
    runProcedure(
      ctx,
      Effect.flatMap(Accounts, (a) => a.disableApplication(input.applicationId)),
    ),
  ),
  /** The application's keys (those not revoked) work again. */
  enable: adminProcedure.input(z.object({ applicationId: Id })).mutation(({ ctx, input }) =>
    runProcedure(
      ctx,
      Effect.flatMap(Accounts, (a) => a.enableApplication(input.applicationId)),
    ),
  ),
});

const keysRouter = router({
  /** The answer holds the key's secret: the only time it is ever shown. */
  create: adminProcedure
    .input(z.object({ applicationId: Id, name: Name, ...Limits_ }))
    .mutation(({ ctx, input: { applicationId, ...key } }) =>
      runProcedure(
        ctx,
        Effect.flatMap(Accounts, (a) => a.createKey(applicationId, key)),
      ),
    ),
  list: adminProcedure.input(z.object({ applicationId: Id.optional() }).optional()).query(({ ctx, input }) =>
    runProcedure(
      ctx,
      Effect.flatMap(Accounts, (a) =>
        a.listKeys(input?.applicationId === undefined ? {} : { applicationId: input.applicationId }),
      ),
    ),
  ),
  revoke: adminProcedure.input(z.object({ keyId: Id })).mutation(({ ctx, input }) =>
    runProcedure(
      ctx,
      Effect.flatMap(Accounts, (a) => a.revokeKey(input.keyId)),
    ),
  ),
  /** Renames a key or changes its limits; omitted fields stay, `null` lifts a limit. */
  update: adminProcedure
    .input(z.object({ keyId: Id, name: Name.optional(), ...Limits_ }))
    .mutation(({ ctx, input: { keyId, ...patch } }) =>
      runProcedure(
        ctx,
        Effect.flatMap(Accounts, (a) => a.updateKey(keyId, patch)),
      ),
    ),
});

const usageRouter = router({
  /** Settled requests and tokens, spent and reserved micro-USD, and the current minute's window. */
  byKey: adminProcedure
    .input(z.object({ keyId: Id }))
    .query(({ ctx, input }) => runProcedure(ctx, usageOfKey(input.keyId))),
  /** The usage of every key, or of one application's keys. */
  list: adminProcedure.input(z.object({ applicationId: Id.optional() }).optional()).query(({ ctx, input }) =>
    runProcedure(
      ctx,
      Effect.gen(function* () {
        const accounts = yield* Accounts;
        const keys = yield* accounts.listKeys(
          input?.applicationId === undefined ? {} : { applicationId: input.applicationId },
        );
        return yield* Effect.forEach(keys, (key) =>
          Effect.map(usageOfKey(key.id), (usage) => ({
            ...usage,
            applicationId: key.applicationId,
            name: key.name,
          })),
        );
      }),
    ),
  ),
});

/** The operator's account administration: applications, API keys, limits, usage. */
export const adminRouter = router({
  applications: applicationsRouter,
  keys: keysRouter,
  usage: usageRouter,
});

export type AdminRouter = typeof adminRouter;
