import { codeOfFailure, InternalFailure } from "@pocket-ai/link";
import { TRPCError } from "@trpc/server";
import { Effect } from "effect";
import { afterAll, describe, expect, it } from "vitest";
import { adminTestRuntime } from "../test/support/admin-test-runtime.js";
import { InvalidApiKey } from "./accounts/errors.js";
import { StorageError } from "./db/database.js";
import { BudgetExhausted, RateLimited } from "./limits/errors.js";
import { runProcedure } from "./trpc.js";

const managed = adminTestRuntime();
afterAll(() => managed.dispose());

const thrown = async (effect: Effect.Effect<unknown, unknown>) => {
  const ctx = { runtime: await managed.runtime() };
  return runProcedure(ctx, effect).then(
    () => undefined,
    (e: unknown) => e as TRPCError,
  );
};

describe("runProcedure", () => {
  it("maps protocol-coded failures to tRPC codes and keeps them as the cause", async () => {
    const cases = [
      [new InvalidApiKey({}), "UNAUTHORIZED"],
      [new BudgetExhausted({ keyId: "k", costMicroUsd: 1 }), "PAYMENT_REQUIRED"],
      [new RateLimited({ keyId: "k", limit: "rpm", retryAfterMs: 5, detail: "d" }), "TOO_MANY_REQUESTS"],
    ] as const;
    for (const [failure, code] of cases) {
      const error = await thrown(Effect.fail(failure));
      expect(error).toBeInstanceOf(TRPCError);
      expect(error?.code).toBe(code);
      expect(codeOfFailure(error?.cause)).toBe(failure.code);
    }
  });

  it("hides internal failures and defects behind INTERNAL_SERVER_ERROR", async () => {
    for (const effect of [
      Effect.fail(new StorageError({ operation: "x", reason: "SQLITE_CORRUPT at /secret/path" })),
      Effect.die(new Error("boom")),
      Effect.fail("plain"),
    ]) {
      const error = await thrown(effect);
      expect(error?.code).toBe("INTERNAL_SERVER_ERROR");
      expect(error?.message).not.toMatch(/secret|SQLITE|boom|plain/);
      // Only an id the app's log shares, never the failure itself.
      expect(error?.message).toMatch(/\(error id [0-9a-f]{12}\)/);
      expect(error?.cause).toBeInstanceOf(InternalFailure);
    }
  });

  it("names what an untyped try threw, and where in the app it was thrown, for the log", async () => {
    const error = await thrown(
      Effect.tryPromise(() => Promise.reject(new TypeError("cannot read /secret/file"))),
    );
    expect(error?.cause).toBeInstanceOf(InternalFailure);
    const internal = error?.cause as InternalFailure;
    expect(internal.failureName).toBe("TypeError");
    expect(internal.at).toContain("trpc.test.ts");
    expect(error?.message).not.toContain("secret");
  });

  it("returns the value on success", async () => {
    expect(await runProcedure({ runtime: await managed.runtime() }, Effect.succeed(42))).toBe(42);
  });

  it("recognises only real protocol codes", () => {
    expect(codeOfFailure({ code: "ECONNRESET" })).toBeUndefined();
    expect(codeOfFailure({ code: "toString" })).toBeUndefined();
    expect(codeOfFailure(null)).toBeUndefined();
  });
});
