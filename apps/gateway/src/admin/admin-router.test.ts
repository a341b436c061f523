import { TRPCError } from "@trpc/server";
import { Effect, type Runtime } from "effect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN_TOKEN, adminTestRuntime } from "../../test/support/admin-test-runtime.js";
import { dialectMissing, STORE_DIALECTS } from "../../test/support/temp-database.js";
import { Limits } from "../limits/limits.js";
import { createCallerFactory, type GatewayServices } from "../trpc.js";
import { adminRouter } from "./admin-router.js";

// Set by each dialect's block before its tests run.
let runtime!: Runtime.Runtime<GatewayServices>;
const createCaller = createCallerFactory(adminRouter);
const admin = () => createCaller({ bearerToken: ADMIN_TOKEN, runtime });

const rejection = async (p: Promise<unknown>) => {
  const error = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(TRPCError);
  return error as TRPCError;
};

// Applications, keys, limits and usage on both dialects: replicas on PostgreSQL share them.
describe.each(STORE_DIALECTS)("admin API on %s", (dialect) => {
  describe.skipIf(dialectMissing(dialect))(dialect, () => {
    const managed = adminTestRuntime(dialect);
    beforeAll(async () => {
      runtime = await managed.runtime();
    });
    afterAll(() => managed.dispose());

    describe("adminRouter (createCaller)", () => {
      it("refuses a missing or wrong admin token with ADMIN_UNAUTHORIZED", async () => {
        for (const bearerToken of [undefined, "", "wrong", `${ADMIN_TOKEN}x`]) {
          const error = await rejection(createCaller({ bearerToken, runtime }).applications.list());
          expect(error.code).toBe("UNAUTHORIZED");
          expect((error.cause as { code?: string }).code).toBe("ADMIN_UNAUTHORIZED");
        }
      });

      it("manages applications and keys end to end", async () => {
        const caller = admin();
        const app = await caller.applications.create({ name: " Acme ", operator: "ops" });
        expect(app).toMatchObject({ name: "Acme", operator: "ops", status: "active" });
        expect((await caller.applications.list()).map((a) => a.id)).toContain(app.id);

        const created = await caller.keys.create({
          applicationId: app.id,
          name: "prod",
          rpm: 10,
          budgetMicroUsd: 1_500,
        });
        expect(created.secret).toMatch(/^pai_/);
        const listed = await caller.keys.list({ applicationId: app.id });
        expect(listed).toEqual([created.key]);
        expect(JSON.stringify(listed)).not.toContain(created.secret);

        const updated = await caller.keys.update({ keyId: created.key.id, rpm: null, tpm: 5_000 });
        expect(updated).toMatchObject({ rpm: null, tpm: 5_000, budgetMicroUsd: 1_500 });

        await managed.runPromise(
          Effect.gen(function* () {
            const limits = yield* Limits;
            const key = { keyId: created.key.id, rpm: null, tpm: 5_000 };
            const r = yield* limits.reserve(key, { tokens: 1_000, costMicroUsd: 750 });
            yield* limits.settle(r, { tokens: 321, costMicroUsd: 750 });
          }),
        );
        expect(await caller.usage.byKey({ keyId: created.key.id })).toMatchObject({
          requests: 1,
          tokens: 321,
          spentMicroUsd: 750,
          remainingMicroUsd: 750,
        });
        const all = await caller.usage.list({ applicationId: app.id });
        expect(all).toHaveLength(1);
        expect(all[0]).toMatchObject({
          keyId: created.key.id,
          name: "prod",
          applicationId: app.id,
          spentMicroUsd: 750,
        });

        expect((await caller.keys.revoke({ keyId: created.key.id })).status).toBe("revoked");
        expect((await caller.applications.disable({ applicationId: app.id })).status).toBe("disabled");
      });

      it("maps service failures and bad input to tRPC codes with their protocol code", async () => {
        const caller = admin();
        const missing = await rejection(caller.keys.revoke({ keyId: "key_nope" }));
        expect(missing.code).toBe("BAD_REQUEST");
        expect(missing.message).toContain("key_nope");
        const bad = await rejection(caller.keys.create({ applicationId: "app_x", name: "", rpm: -1 }));
        expect(bad.code).toBe("BAD_REQUEST");
      });
    });
  });
});
