import { type ClaimTree, claimTreeSteps } from "@pocket-ai/protocol";
import { Data, Effect } from "effect";
import type { RelayStore } from "../db/relay-store.js";

/**
 * Leaf rows read at once (a few milliseconds): a busy node's session has hundreds of thousands,
 * read a page at a time with a turn of the event loop after each, so the relays it serves
 * meanwhile keep flowing.
 */
export const LEAF_PAGE = 4_096;

/** A session's leaves that make no claim tree (a stored hash that is no hash, weights out of bounds). */
export class ClaimNotBuilt extends Data.TaggedError("ClaimNotBuilt")<{ readonly reason: string }> {}

/** One turn of the event loop: the relays, timers and sockets waiting run before the next slice. */
export const nextTurn = Effect.async<void>((resume) => {
  const turn = setImmediate(() => resume(Effect.void));
  return Effect.sync(() => clearImmediate(turn));
});

const HEX_HASH = /^[0-9a-f]{64}$/;

/**
 * The leaves of a session's claim, as `RelayStore.leaves` gives them (its answered rows in the
 * order they were written; with `first`, only the first that many) but lean: the hashes packed
 * into one byte array, the weights into one `Float64Array`, no object per leaf. Read a page at a
 * time with the event loop's other work in between, by rowid: a page starts after the last row
 * of the one before, and every row is written after the rows there are (an answer, a late one or
 * a cut stream paid by its gateway's receipt), so the pages give the first rows of the session
 * in order, exactly what `leaves` gives at the moment the last page is read: a row written while
 * they are read comes after them, in the claim if a page still reaches it and in no claim
 * otherwise. A claim built from `n` rows is built again from the same `n` (the rows of a
 * session whose claim can be built change no more in place: see `RelayStore.settleCut`).
 */
export function readClaimLeaves(
  relays: RelayStore,
  sessionId: string,
  gateway: string,
  first?: number,
): Effect.Effect<{ readonly hashes: Uint8Array; readonly computeUnits: Float64Array }, ClaimNotBuilt> {
  return Effect.gen(function* () {
    let capacity = Math.max(1, Math.min(first ?? LEAF_PAGE, LEAF_PAGE * 16));
    let hashes = Buffer.alloc(capacity * 32);
    let computeUnits = new Float64Array(capacity);
    let count = 0;
    let after = 0;
    for (;;) {
      const limit = first === undefined ? LEAF_PAGE : Math.min(LEAF_PAGE, first - count);
      if (limit <= 0) break;
      const page = relays.leafPage(sessionId, gateway, after, limit);
      if (count + page.length > capacity) {
        capacity = Math.max(capacity * 2, count + page.length);
        const grownHashes = Buffer.alloc(capacity * 32);
        grownHashes.set(hashes.subarray(0, count * 32));
        const grownUnits = new Float64Array(capacity);
        grownUnits.set(computeUnits.subarray(0, count));
        hashes = grownHashes;
        computeUnits = grownUnits;
      }
      for (const [rowid, leafHash, units] of page) {
        if (!HEX_HASH.test(leafHash)) {
          return yield* new ClaimNotBuilt({
            reason: `leaf ${count} hash is not 64 lowercase hex characters`,
          });
        }
        hashes.write(leafHash, count * 32, 32, "hex");
        computeUnits[count] = units;
        count += 1;
        after = rowid;
      }
      if (page.length < limit) break;
      yield* nextTurn;
    }
    return { hashes: hashes.subarray(0, count * 32), computeUnits: computeUnits.subarray(0, count) };
  });
}

/**
 * The claim tree of a session's leaves (see {@link readClaimLeaves}), `undefined` when it has
 * none. Built a slice at a time (`claimTreeSteps`) with a turn of the event loop after each: a
 * claim of a busy node's session (600,000 relays: two SHA-256 each, and a sort) takes seconds
 * of work, and the streams the node serves meanwhile must not stop for them.
 */
export function claimTreeOf(
  relays: RelayStore,
  sessionId: string,
  gateway: string,
  first?: number,
): Effect.Effect<ClaimTree | undefined, ClaimNotBuilt> {
  return Effect.gen(function* () {
    const { hashes, computeUnits } = yield* readClaimLeaves(relays, sessionId, gateway, first);
    if (computeUnits.length === 0) return undefined;
    const steps = claimTreeSteps(hashes, computeUnits);
    for (;;) {
      const step = yield* Effect.try({
        try: () => steps.next(),
        catch: (error) =>
          new ClaimNotBuilt({ reason: error instanceof Error ? error.message : String(error) }),
      });
      if (step.done === true) return step.value;
      yield* nextTurn;
    }
  });
}
