import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Effect, Exit, Layer, ManagedRuntime } from "effect";
import { afterAll, describe, expect, it } from "vitest";
import { Accounts } from "../accounts/accounts.js";
import { AccountsConfig } from "../accounts/accounts-config.js";
import { AccountsLive } from "../accounts/index.js";
import type { AuthenticatedKey } from "../accounts/records.js";
import { Database } from "../db/database.js";
import { Limits } from "./limits.js";

const dir = mkdtempSync(join(tmpdir(), "pocket-gateway-budget-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const PRICE = 750;
/** A gateway process: its own connection to `file`, its own in-memory windows. */
const gateway = (file: string) =>
  ManagedRuntime.make(
    AccountsLive.pipe(Layer.provideMerge(Layer.merge(Database.layer({ file }), AccountsConfig.layerTest))),
  );

const newKey = (budgetMicroUsd: number) =>
  Effect.gen(function* () {
    const accounts = yield* Accounts;
    const app = yield* accounts.createApplication({ name: "Acme" });
    const { secret } = yield* accounts.createKey(app.id, { name: "k", budgetMicroUsd });
    return yield* accounts.authenticate(secret);
  });

/** Reserves after a random pause, so that the requests really interleave. */
const reserveOne = (key: AuthenticatedKey) =>
  Effect.flatMap(Limits, (limits) =>
    Effect.sleep(Math.floor(Math.random() * 5)).pipe(
      Effect.zipRight(limits.reserve(key, { tokens: 1_000, costMicroUsd: PRICE })),
    ),
  );

const usage = (keyId: string) => Effect.flatMap(Limits, (l) => l.usage(keyId));

describe("budget reservations under concurrency", () => {
  it("200 concurrent reservations against a budget for exactly 50: exactly 50 succeed", async () => {
    const runtime = gateway(join(dir, "one.sqlite"));
    const key = await runtime.runPromise(newKey(50 * PRICE));
    const exits = await Promise.all(
      Array.from({ length: 200 }, () => runtime.runPromiseExit(reserveOne(key))),
    );
    const won = exits.filter(Exit.isSuccess).map((e) => e.value);
    expect(won).toHaveLength(50);
    for (const e of exits.filter(Exit.isFailure)) {
      expect(e.cause._tag === "Fail" && e.cause.error._tag).toBe("BudgetExhausted");
    }
    expect(await runtime.runPromise(usage(key.keyId))).toMatchObject({ reservedMicroUsd: 50 * PRICE });
    await Promise.all(
      won.map((r) =>
        runtime.runPromise(Effect.flatMap(Limits, (l) => l.settle(r, { tokens: 10, costMicroUsd: PRICE }))),
      ),
    );
    expect(await runtime.runPromise(usage(key.keyId))).toMatchObject({
      requests: 50,
      spentMicroUsd: 50 * PRICE,
      reservedMicroUsd: 0,
      remainingMicroUsd: 0,
    });
    await runtime.dispose();
  });

  it("two gateways on one file (two connections) still cannot overspend: the UPDATE holds the condition", async () => {
    const file = join(dir, "two.sqlite");
    const a = gateway(file);
    const key = await a.runPromise(newKey(50 * PRICE));
    const b = gateway(file);
    await b.runPromise(Limits);
    const exits = await Promise.all(
      Array.from({ length: 200 }, (_, i) => (i % 2 === 0 ? a : b).runPromiseExit(reserveOne(key))),
    );
    expect(exits.filter(Exit.isSuccess)).toHaveLength(50);
    await Promise.all([a.dispose(), b.dispose()]);
  });

  it("reservations left by a crash are released when the gateway starts again", async () => {
    const file = join(dir, "crash.sqlite");
    const before = gateway(file);
    const key = await before.runPromise(newKey(3 * PRICE));
    for (let i = 0; i < 3; i++) await before.runPromise(reserveOne(key));
    expect(Exit.isFailure(await before.runPromiseExit(reserveOne(key)))).toBe(true);
    await before.dispose(); // the relays never settle: as if the process died
    const after = gateway(file);
    expect(await after.runPromise(usage(key.keyId))).toMatchObject({ reservedMicroUsd: 0, spentMicroUsd: 0 });
    for (let i = 0; i < 3; i++) await after.runPromise(reserveOne(key));
    await after.dispose();
  });
});
