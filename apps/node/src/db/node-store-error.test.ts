import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { openSqlite } from "@pocket-ai/runtime";
import { Cause, Effect, Exit, Scope } from "effect";
import { describe, expect, it } from "vitest";
import { ClaimStore } from "./claim-store.js";
import { RelayStore } from "./relay-store.js";
import { nodeSchema, relays } from "./schema.js";

const migrationsFolder = fileURLToPath(new URL("../../drizzle", import.meta.url));
const relay = {
  requestHash: "ab".repeat(32),
  sessionId: "s1",
  sessionNumber: 1,
  sessionEnd: 10,
  serviceId: "llama-2-13b",
  tier: "standard",
  applicationAddress: "app",
  gatewayAddress: "gw",
};

describe("the node's ledgers", () => {
  it("write through, and turn a failed SQLite write into a typed NodeStoreError, not a defect", async () => {
    const scope = Effect.runSync(Scope.make());
    const { db } = await Effect.runPromise(
      Scope.extend(
        openSqlite({
          file: join(mkdtempSync(join(tmpdir(), "pocket-node-store-")), "node.sqlite"),
          schema: nodeSchema,
          migrationsFolder,
        }),
        scope,
      ),
    );
    const relays = new RelayStore(db);
    expect(await Effect.runPromise(relays.admit(relay, 1))).toBe(true);
    expect(await Effect.runPromise(relays.admit(relay, 2))).toBe(false);
    await Effect.runPromise(Scope.close(scope, Exit.void)); // closes the database

    const claims = new ClaimStore(db);
    for (const write of [
      relays.refuse(relay.requestHash, "TIMEOUT", 3),
      relays.abandonPending(4),
      claims.settled("s1", "gw", "proven", "0", null, 5),
    ]) {
      const exit = await Effect.runPromiseExit(write);
      expect(Exit.isFailure(exit) && Cause.isFailType(exit.cause)).toBe(true);
      const failure = Exit.isFailure(exit) ? Cause.failureOption(exit.cause) : undefined;
      expect(failure?._tag === "Some" && failure.value).toMatchObject({
        _tag: "NodeStoreError",
        code: "INTERNAL",
      });
    }
  });

  it("record each relay's outcome, hashes and counts through the prepared writes", async () => {
    const scope = Effect.runSync(Scope.make());
    const { db } = await Effect.runPromise(
      Scope.extend(
        openSqlite({
          file: join(mkdtempSync(join(tmpdir(), "pocket-node-store-")), "node.sqlite"),
          schema: nodeSchema,
          migrationsFolder,
        }),
        scope,
      ),
    );
    const store = new RelayStore(db);
    const other = { ...relay, requestHash: "cd".repeat(32), sessionId: "s2" };
    expect(await Effect.runPromise(store.admit(relay, 1))).toBe(true);
    expect(await Effect.runPromise(store.admit(other, 2))).toBe(true);
    expect(await Effect.runPromise(store.admit(relay, 3))).toBe(false);
    const answered = {
      responseHash: "ef".repeat(32),
      leafHash: "01".repeat(32),
      inputTokens: 7,
      outputTokens: 9,
      computeUnits: 16,
    };
    await Effect.runPromise(store.answer(relay.requestHash, answered, 4));
    await Effect.runPromise(store.refuse(other.requestHash, "TIMEOUT", 5));
    const rows = db.select().from(relays).all();
    expect(rows.find((r) => r.requestHash === relay.requestHash)).toMatchObject({
      ...relay,
      ...answered,
      outcome: "ok",
      createdAt: 1,
      completedAt: 4,
      errorCode: null,
    });
    expect(rows.find((r) => r.requestHash === other.requestHash)).toMatchObject({
      ...other,
      outcome: "error",
      errorCode: "TIMEOUT",
      createdAt: 2,
      completedAt: 5,
      responseHash: null,
      outputTokens: 0,
    });
    await Effect.runPromise(Scope.close(scope, Exit.void));
  });
});
