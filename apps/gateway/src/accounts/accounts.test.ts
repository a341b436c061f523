import { describe, expect, it } from "@effect/vitest";
import { sql } from "drizzle-orm";
import { Effect, Exit, TestClock } from "effect";
import { accountsTest } from "../../test/support/accounts-test-layer.js";
import { dialectMissing, STORE_DIALECTS } from "../../test/support/temp-database.js";
import { GatewayStore } from "../db/database.js";
import { Accounts } from "./accounts.js";
import { applicationKeyPair } from "./application-address.js";

const failureTag = <A, E extends { _tag: string }>(exit: Exit.Exit<A, E>) =>
  Exit.isFailure(exit) && exit.cause._tag === "Fail" ? exit.cause.error._tag : undefined;

const setup = Effect.gen(function* () {
  const accounts = yield* Accounts;
  const app = yield* accounts.createApplication({ name: "Acme", operator: "ops@acme" });
  const created = yield* accounts.createKey(app.id, { name: "prod", rpm: 60, tpm: 10_000 });
  return { accounts, app, created };
});

describe.each(STORE_DIALECTS)("Accounts on %s", (dialect) => {
  describe.skipIf(dialectMissing(dialect))(dialect, () => {
    it.effect("creates applications with a derived pokt1 address", () =>
      Effect.gen(function* () {
        const { accounts, app } = yield* setup;
        expect(app).toMatchObject({ name: "Acme", operator: "ops@acme", status: "active" });
        expect(app.id).toMatch(/^app_[0-9A-Za-z]{16}$/);
        expect(app.address).toBe(applicationKeyPair(new Uint8Array(32).fill(7), app.id).address);
        const other = yield* accounts.createApplication({ name: "Beta" });
        expect(other.operator).toBeNull();
        expect((yield* accounts.listApplications()).map((a) => a.name)).toEqual(["Acme", "Beta"]);
      }).pipe(Effect.provide(accountsTest(dialect))),
    );

    it.effect("shows a key's secret once and stores only its hash", () =>
      Effect.gen(function* () {
        const { accounts, created } = yield* setup;
        expect(created.secret).toMatch(/^pai_[0-9A-Za-z]{32}$/);
        expect(created.key).toMatchObject({
          name: "prod",
          rpm: 60,
          tpm: 10_000,
          budgetMicroUsd: null,
          status: "active",
        });
        expect(created.key.prefix).toBe(`${created.secret.slice(0, 10)}…`);
        const listed = yield* accounts.listKeys();
        expect(listed).toEqual([created.key]);
        expect(JSON.stringify(listed)).not.toContain(created.secret.slice(10));
        const db = yield* GatewayStore;
        const dump = JSON.stringify(yield* Effect.promise(() => db.all(sql`select * from api_keys`)));
        expect(dump).not.toContain(created.secret.slice(10));
      }).pipe(Effect.provide(accountsTest(dialect))),
    );

    it.effect("authenticates Bearer headers and bare keys", () =>
      Effect.gen(function* () {
        const { accounts, app, created } = yield* setup;
        const key = yield* accounts.authenticate(`Bearer ${created.secret}`);
        expect(key).toEqual({
          keyId: created.key.id,
          applicationId: app.id,
          applicationAddress: app.address,
          rpm: 60,
          tpm: 10_000,
          organicChecks: true,
        });
        expect(yield* accounts.authenticate(created.secret)).toEqual(key);
      }).pipe(Effect.provide(accountsTest(dialect))),
    );

    it.effect("carries an application's opt-out of organic checks to its keys at once", () =>
      Effect.gen(function* () {
        const { accounts, app, created } = yield* setup;
        expect(app.organicChecks).toBe(true);
        yield* accounts.authenticate(created.secret); // now cached
        expect((yield* accounts.setOrganicChecks(app.id, false)).organicChecks).toBe(false);
        expect((yield* accounts.authenticate(created.secret)).organicChecks).toBe(false);
        expect((yield* accounts.getApplication(app.id)).organicChecks).toBe(false);
        yield* accounts.setOrganicChecks(app.id, true);
        expect((yield* accounts.authenticate(created.secret)).organicChecks).toBe(true);
      }).pipe(Effect.provide(accountsTest(dialect))),
    );

    it.effect("refuses missing, malformed, unknown and revoked keys alike", () =>
      Effect.gen(function* () {
        const { accounts, created } = yield* setup;
        yield* accounts.authenticate(created.secret); // now cached
        yield* accounts.revokeKey(created.key.id);
        const attempts = [
          undefined,
          "",
          "Bearer nope",
          `${created.secret}x`,
          "pai_" + "a".repeat(32),
          created.secret,
        ];
        for (const attempt of attempts) {
          const exit = yield* Effect.exit(accounts.authenticate(attempt));
          expect(failureTag(exit)).toBe("InvalidApiKey");
        }
        expect((yield* accounts.getKey(created.key.id)).status).toBe("revoked");
      }).pipe(Effect.provide(accountsTest(dialect))),
    );

    it.effect("disabling an application stops its keys at once and refuses new ones", () =>
      Effect.gen(function* () {
        const { accounts, app, created } = yield* setup;
        yield* accounts.authenticate(created.secret);
        expect((yield* accounts.disableApplication(app.id)).status).toBe("disabled");
        expect(failureTag(yield* Effect.exit(accounts.authenticate(created.secret)))).toBe("InvalidApiKey");
        expect(failureTag(yield* Effect.exit(accounts.createKey(app.id, { name: "x" })))).toBe(
          "ApplicationDisabled",
        );
      }).pipe(Effect.provide(accountsTest(dialect))),
    );

    it.effect("enabling a disabled application lets its keys in again, except the revoked ones", () =>
      Effect.gen(function* () {
        const { accounts, app, created } = yield* setup;
        const revoked = yield* accounts.createKey(app.id, { name: "old" });
        yield* accounts.revokeKey(revoked.key.id);
        yield* accounts.disableApplication(app.id);
        expect(failureTag(yield* Effect.exit(accounts.authenticate(created.secret)))).toBe("InvalidApiKey");
        const enabled = yield* accounts.enableApplication(app.id);
        expect(enabled).toMatchObject({ status: "active", disabledAt: null });
        expect((yield* accounts.authenticate(created.secret)).keyId).toBe(created.key.id);
        expect(failureTag(yield* Effect.exit(accounts.authenticate(revoked.secret)))).toBe("InvalidApiKey");
        expect((yield* accounts.createKey(app.id, { name: "new" })).key.status).toBe("active");
        // Enabling an active application changes nothing.
        expect(yield* accounts.enableApplication(app.id)).toEqual(enabled);
      }).pipe(Effect.provide(accountsTest(dialect))),
    );

    it.effect("updates limits and the next authentication sees them", () =>
      Effect.gen(function* () {
        const { accounts, created } = yield* setup;
        yield* accounts.authenticate(created.secret);
        const updated = yield* accounts.updateKey(created.key.id, {
          rpm: null,
          budgetMicroUsd: 5_000,
          name: undefined,
        });
        expect(updated).toMatchObject({ name: "prod", rpm: null, tpm: 10_000, budgetMicroUsd: 5_000 });
        expect((yield* accounts.authenticate(created.secret)).rpm).toBeNull();
      }).pipe(Effect.provide(accountsTest(dialect))),
    );

    it.effect("re-reads the database once a cached key's TTL has passed", () =>
      Effect.gen(function* () {
        const { accounts, created } = yield* setup;
        yield* accounts.authenticate(created.secret);
        const db = yield* GatewayStore;
        // A change made outside Accounts (another replica, the operator's SQL).
        yield* Effect.promise(() => db.run(sql`update api_keys set status = 'revoked'`));
        yield* accounts.authenticate(created.secret);
        yield* TestClock.adjust("31 seconds");
        expect(failureTag(yield* Effect.exit(accounts.authenticate(created.secret)))).toBe("InvalidApiKey");
      }).pipe(Effect.provide(accountsTest(dialect))),
    );

    it.effect("names unknown applications and keys", () =>
      Effect.gen(function* () {
        const accounts = yield* Accounts;
        expect(failureTag(yield* Effect.exit(accounts.createKey("app_nope", { name: "x" })))).toBe(
          "ApplicationNotFound",
        );
        expect(failureTag(yield* Effect.exit(accounts.disableApplication("app_nope")))).toBe(
          "ApplicationNotFound",
        );
        expect(failureTag(yield* Effect.exit(accounts.enableApplication("app_nope")))).toBe(
          "ApplicationNotFound",
        );
        expect(failureTag(yield* Effect.exit(accounts.revokeKey("key_nope")))).toBe("ApiKeyNotFound");
        expect(failureTag(yield* Effect.exit(accounts.updateKey("key_nope", { rpm: 1 })))).toBe(
          "ApiKeyNotFound",
        );
      }).pipe(Effect.provide(accountsTest(dialect))),
    );
  });
});
