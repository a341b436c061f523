/**
 * The leaves of a claim read a page at a time while the ledger keeps being written: the pages give
 * the session's first rows in the order they were written, as `RelayStore.leaves` does, so a claim
 * of `n` rows is built again, for its proof, from the same `n`.
 */

import { countTurns } from "@pocket-ai/png/testing";
import { buildClaimTree, claimRoot } from "@pocket-ai/protocol";
import { Effect } from "effect";
import { describe, expect, it } from "vitest";
import { insertAnsweredRows } from "../../test/helpers/claim-rows.js";
import { openLedger } from "../../test/helpers/ledger-fixtures.js";
import { RelayStore } from "../db/relay-store.js";
import { claimTreeOf, LEAF_PAGE, readClaimLeaves } from "./claim-leaves.js";

const session = (sessionId: string) => ({
  sessionId,
  gatewayAddress: "gw",
  applicationAddress: "app",
  serviceId: "llama-2-13b",
  sessionNumber: 0,
  sessionEnd: 1_000,
});

/** What `RelayStore.leaves` gives, as the lean arrays. */
function expectedLeaves(relays: RelayStore, sessionId: string, first?: number) {
  const leaves = relays.leaves(sessionId, "gw", first);
  return {
    hashes: leaves.map((l) => l.leafHash).join(""),
    computeUnits: leaves.map((l) => l.computeUnits),
  };
}

const asExpected = (read: { hashes: Uint8Array; computeUnits: Float64Array }) => ({
  hashes: Buffer.from(read.hashes).toString("hex"),
  computeUnits: Array.from(read.computeUnits),
});

describe("a claim's leaves read in pages", () => {
  it("are the session's first rows, those written while they are read coming after them", async () => {
    const { db, close } = await openLedger();
    const relays = new RelayStore(db);
    const busy = session("busy");
    const initial = 3 * LEAF_PAGE + 17;
    insertAnsweredRows(db, busy, initial);
    // Another session's rows and this one's keep being written between the pages.
    let written = initial;
    let writing = true;
    const write = () => {
      if (!writing) return;
      insertAnsweredRows(db, session("other"), 5, written * 5);
      insertAnsweredRows(db, busy, 3, written);
      written += 3;
      setImmediate(write);
    };
    setImmediate(write);
    const read = await Effect.runPromise(readClaimLeaves(relays, "busy", "gw"));
    writing = false;
    const n = read.computeUnits.length;
    expect(n).toBeGreaterThan(initial);
    expect(n).toBeLessThanOrEqual(written);
    expect(asExpected(read)).toEqual(expectedLeaves(relays, "busy", n));

    // Built again from its first n rows, later: the same leaves, the same root.
    insertAnsweredRows(db, busy, 10, written);
    const again = await Effect.runPromise(readClaimLeaves(relays, "busy", "gw", n));
    expect(asExpected(again)).toEqual(asExpected(read));
    const tree = await Effect.runPromise(claimTreeOf(relays, "busy", "gw", n));
    const leaves = relays.leaves("busy", "gw", n);
    expect(claimRoot(tree!)).toEqual(
      claimRoot(buildClaimTree(leaves.map((l) => ({ hash: l.leafHash, computeUnits: l.computeUnits })))),
    );
    expect(await Effect.runPromise(claimTreeOf(relays, "none", "gw"))).toBeUndefined();
    await close();
  });

  it("give the event loop a turn between pages, and after every page but a claim's last", async () => {
    const { db, close } = await openLedger();
    const relays = new RelayStore(db);
    insertAnsweredRows(db, session("busy"), 10 * LEAF_PAGE);
    const turns = countTurns();
    const read = await Effect.runPromise(readClaimLeaves(relays, "busy", "gw", 5 * LEAF_PAGE));
    turns.stop();
    expect(read.computeUnits.length).toBe(5 * LEAF_PAGE);
    expect(turns.count()).toBe(4);
    await close();
  });

  it("refuse a stored leaf that is no hash: no claim is built of it", async () => {
    const { db, close } = await openLedger();
    const relays = new RelayStore(db);
    insertAnsweredRows(db, session("busy"), 10);
    (db as unknown as { $client: import("better-sqlite3").Database }).$client
      .prepare("update relays set leaf_hash = upper(leaf_hash) where rowid = (select max(rowid) from relays)")
      .run();
    const refused = await Effect.runPromise(Effect.flip(claimTreeOf(relays, "busy", "gw")));
    expect(refused).toMatchObject({
      _tag: "ClaimNotBuilt",
      reason: "leaf 9 hash is not 64 lowercase hex characters",
    });
    await close();
  });
});
