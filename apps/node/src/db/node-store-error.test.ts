import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Database } from "better-sqlite3";
import { sql } from "drizzle-orm";
import { Cause, Effect, Exit } from "effect";
import { describe, expect, it, vi } from "vitest";
import { answered, openLedger, relay } from "../../test/helpers/ledger-fixtures.js";
import { ClaimStore } from "./claim-store.js";
import { RelayStore } from "./relay-store.js";
import { relays } from "./schema.js";

describe("the node's ledgers", () => {
  it("write through, and turn a failed SQLite write into a typed NodeStoreError, not a defect", async () => {
    const { db, close } = await openLedger();
    const relays = new RelayStore(db);
    expect(await Effect.runPromise(relays.admit(relay, 1))).toBe(true);
    expect(await Effect.runPromise(relays.admit(relay, 2))).toBe(false);
    await close(); // closes the database

    const claims = new ClaimStore(db);
    for (const write of [
      relays.refuse(relay.requestHash, "TIMEOUT", 3),
      relays.abandonPending(4),
      claims.settled("s1", "gw", "proven", "0", null, null, 5),
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

  it("give SQLite's code as a failed write's reason, never the statement or its values", async () => {
    const { db, close } = await openLedger();
    const relays = new RelayStore(db);
    expect(await Effect.runPromise(relays.admit(relay, 1))).toBe(true);
    db.run(sql`drop table relays`);
    db.run(sql`drop table claims`);
    for (const write of [
      relays.answer(relay.requestHash, answered, 2),
      new ClaimStore(db).settled("s1", "gw", "proven", "0", null, null, 3),
    ]) {
      const failure = await Effect.runPromise(Effect.flip(write));
      expect(failure.reason).toMatch(/^SQLITE_ERROR: no such table: (relays|claims)$/);
      expect(failure.message).not.toMatch(/insert|update|s1|gw|proven/i);
      expect(failure.message).not.toContain(relay.requestHash);
    }
    await close();
  });

  it("record each relay's outcome, hashes and counts through the prepared writes", async () => {
    const { db, close } = await openLedger();
    const store = new RelayStore(db);
    const other = { ...relay, requestHash: "cd".repeat(32), sessionId: "s2" };
    expect(await Effect.runPromise(store.admit(relay, 1))).toBe(true);
    expect(await Effect.runPromise(store.admit(other, 2))).toBe(true);
    expect(await Effect.runPromise(store.admit(relay, 3))).toBe(false);
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
    await close();
  });

  it("write a relay once, when it ends: none while in flight, a replay refused in flight and after a restart", async () => {
    const file = join(mkdtempSync(join(tmpdir(), "pocket-node-store-")), "node.sqlite");
    const first = await openLedger(file);
    const store = new RelayStore(first.db);
    const unanswered = { ...relay, requestHash: "cd".repeat(32) };
    expect(await Effect.runPromise(store.admit(relay, 1))).toBe(true);
    expect(await Effect.runPromise(store.admit(unanswered, 1))).toBe(true);
    expect(first.db.select().from(relays).all()).toEqual([]);
    expect(store.outcomeOf(relay.requestHash)).toBe("pending");
    expect(await Effect.runPromise(store.admit(relay, 2))).toBe(false);
    await Effect.runPromise(store.answer(relay.requestHash, answered, 3));
    // Once it ended, a later write for it changes nothing.
    await Effect.runPromise(store.refuse(relay.requestHash, "TIMEOUT", 4));
    expect(store.outcomeOf(relay.requestHash)).toBe("ok");
    expect(await Effect.runPromise(store.admit(relay, 5))).toBe(false);
    await first.close();

    // After a restart the answered relay is still a replay; the one that never ended left no row.
    const second = await openLedger(file);
    const restarted = new RelayStore(second.db);
    expect(await Effect.runPromise(restarted.admit(relay, 6))).toBe(false);
    expect(restarted.outcomeOf(unanswered.requestHash)).toBeUndefined();
    expect(second.db.select().from(relays).all()).toHaveLength(1);
    await second.close();
  });

  it("forget admitted relays left unanswered once their session can admit nothing more", async () => {
    const { db, close } = await openLedger();
    const store = new RelayStore(db);
    const hash = (i: number) => i.toString(16).padStart(64, "0");
    // Many relays of a session that expires at 100 and one whose session goes on: past 100, the
    // growing map is swept and only the live one (and the new one) stay.
    expect(
      await Effect.runPromise(store.admit({ ...relay, requestHash: hash(0), expiresAt: 1_000 }, 1)),
    ).toBe(true);
    let i = 1;
    while (store.inFlight() < 1_024) {
      expect(
        await Effect.runPromise(store.admit({ ...relay, requestHash: hash(i++), expiresAt: 100 }, 2)),
      ).toBe(true);
    }
    expect(
      await Effect.runPromise(store.admit({ ...relay, requestHash: hash(i), expiresAt: 1_000 }, 101)),
    ).toBe(true);
    expect(store.inFlight()).toBe(2);
    expect(store.outcomeOf(hash(0))).toBe("pending");
    expect(store.outcomeOf(hash(1))).toBeUndefined();
    await close();
  });

  it("commit the rows of relays that end in one turn together, and fail a bad row alone", async () => {
    const { db, close } = await openLedger();
    // Counts the transactions the store runs (it makes its batch transaction once, on the connection).
    const client = (db as unknown as { $client: Database }).$client;
    const makeTransaction = client.transaction.bind(client);
    const transactions = vi.fn();
    vi.spyOn(client, "transaction").mockImplementation(((fn: (...args: never[]) => unknown) => {
      const transaction = makeTransaction(fn);
      return Object.assign((...args: never[]) => {
        transactions();
        return transaction(...args);
      }, transaction);
    }) as never);
    const store = new RelayStore(db);
    const hash = (i: number) => i.toString(16).padStart(64, "0");
    for (let i = 0; i < 3; i++)
      expect(await Effect.runPromise(store.admit({ ...relay, requestHash: hash(i) }, 1))).toBe(true);
    // A row SQLite refuses (session_id is NOT NULL): only its own relay's write fails.
    const bad = { ...relay, requestHash: hash(9), sessionId: null as unknown as string };
    expect(await Effect.runPromise(store.admit(bad, 1))).toBe(true);

    const good = [0, 1, 2].map((i) => Effect.runPromise(store.answer(hash(i), answered, 2)));
    // Queued, not yet written: still in flight, a replay still refused, a second outcome ignored.
    expect(db.select().from(relays).all()).toEqual([]);
    expect(store.inFlight()).toBe(4);
    expect(await Effect.runPromise(store.admit({ ...relay, requestHash: hash(0) }, 2))).toBe(false);
    const late = Effect.runPromise(store.refuse(hash(0), "TIMEOUT", 2));
    await Promise.all([...good, late]);
    expect(transactions).toHaveBeenCalledTimes(1);
    expect(
      db
        .select()
        .from(relays)
        .all()
        .map((r) => [r.requestHash, r.outcome]),
    ).toEqual([0, 1, 2].map((i) => [hash(i), "ok"]));
    expect(store.inFlight()).toBe(1);

    const mixed = await Promise.all([
      Effect.runPromiseExit(store.refuse(bad.requestHash, "TIMEOUT", 3)),
      Effect.runPromiseExit(
        Effect.zipRight(
          store.admit({ ...relay, requestHash: hash(3) }, 3),
          store.refuse(hash(3), "TIMEOUT", 3),
        ),
      ),
    ]);
    expect(Exit.isFailure(mixed[0]) && Cause.failureOption(mixed[0].cause)).toMatchObject({
      value: { _tag: "NodeStoreError", operation: "record refused relay" },
    });
    expect(Exit.isSuccess(mixed[1])).toBe(true);
    expect(store.outcomeOf(hash(3))).toBe("error");
    // The relay whose row failed stays admitted: its replay is still refused.
    expect(store.outcomeOf(bad.requestHash)).toBe("pending");
    expect(await Effect.runPromise(store.admit(bad, 4))).toBe(false);
    await close();
  });

  it("answer a relay without waiting for its commit, which every read of the ledger makes first", async () => {
    const { db, close } = await openLedger();
    const store = new RelayStore(db);
    const other = { ...relay, requestHash: "cd".repeat(32) };
    const bad = { ...relay, requestHash: "ef".repeat(32), sessionId: null as unknown as string };
    for (const r of [relay, other, bad]) expect(await Effect.runPromise(store.admit(r, 1))).toBe(true);
    const done: Array<[string, string | undefined]> = [];
    for (const r of [relay, other, bad])
      store.answerQueued(r.requestHash, answered, 2, (failure) =>
        done.push([r.requestHash, failure?.operation]),
      );
    // Queued: nothing written, nothing reported, each relay still in flight.
    expect(db.select().from(relays).all()).toEqual([]);
    expect(done).toEqual([]);
    expect(store.inFlight()).toBe(3);
    // A read commits the queue first: the claim's leaves hold the answer queued a moment ago.
    expect(store.leaves(relay.sessionId, relay.gatewayAddress).map((l) => l.leafHash)).toEqual([
      answered.leafHash,
      answered.leafHash,
    ]);
    expect(done).toEqual([
      [relay.requestHash, undefined],
      [other.requestHash, undefined],
      [bad.requestHash, "record answered relay"],
    ]);
    expect(store.outcomeOf(other.requestHash)).toBe("ok");
    // The failed row's relay stays admitted (a replay is refused) and is never claimed.
    expect(store.outcomeOf(bad.requestHash)).toBe("pending");
    // The commit the queue scheduled finds nothing left to write.
    await new Promise((resolve) => setImmediate(resolve));
    expect(done).toHaveLength(3);
    expect(db.select().from(relays).all()).toHaveLength(2);
    await close();
  });

  it("tell every queued relay its row's fate even when one caller's callback throws", async () => {
    const { db, close } = await openLedger();
    const store = new RelayStore(db);
    const other = { ...relay, requestHash: "cd".repeat(32) };
    for (const r of [relay, other]) expect(await Effect.runPromise(store.admit(r, 1))).toBe(true);
    const told: string[] = [];
    store.answerQueued(relay.requestHash, answered, 2, () => {
      told.push(relay.requestHash);
      throw new Error("a caller's bug");
    });
    store.answerQueued(other.requestHash, answered, 2, () => told.push(other.requestHash));
    expect(store.leaves(relay.sessionId, relay.gatewayAddress)).toHaveLength(2);
    expect(told).toEqual([relay.requestHash, other.requestHash]);
    expect(store.inFlight()).toBe(0);
    expect(store.writesFailing).toBe(false);
    await close();
  });
});
