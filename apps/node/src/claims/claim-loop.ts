import {
  type ClaimRoot,
  claimRoot,
  createClaimSubmission,
  createProofSubmission,
  deriveSessionId,
  type ErrorCode,
  GATEWAY_PROCEDURES,
  type KeyPair,
  MAX_CLAIM_WINDOW_MS,
  MAX_PROOF_WINDOW_MS,
  proofLeafIndex,
  proveClaimLeaf,
  type Result,
  type SessionParams,
  sessionGrace,
  sessionWindow,
  verifyClaimAck,
  verifyProofAck,
} from "@pocket-ai/protocol";
import { describeThrown, type Logger } from "@pocket-ai/runtime";
import { Context, Effect, Layer, Schedule } from "effect";
import { NodeSettings } from "../app/node-settings.js";
import { NodeClock } from "../clock/node-clock.js";
import type { ClaimRow, ClaimStore } from "../db/claim-store.js";
import { ClaimLedger, RelayLedger } from "../db/node-database.js";
import type { NodeStoreError } from "../db/node-store-error.js";
import type { RelayStore } from "../db/relay-store.js";
import { GatewayCallError, type GatewayClient, GatewayClients } from "../gateway-link/gateway-client.js";
import { NodeIdentity } from "../identity/node-identity.js";
import type { NodeMetrics } from "../metrics/node-metrics.js";
import { Metrics } from "../metrics/node-metrics.js";
import { claimBackoffMs, claimLoopInterval } from "../schedules.js";
import { claimTreeOf, nextTurn } from "./claim-leaves.js";

/**
 * How many CLAIM_WINDOW_CLOSED answers a claim gets before it is given up (its other failed tries,
 * waits for the week's rate among them, do not count, nor do the answers of the first
 * {@link EARLY_REFUSALS_MS} after its window opened).
 */
const CLAIM_WINDOW_ATTEMPTS = 5;

/**
 * How long after its window opens (by the node's clock) a claim's CLAIM_WINDOW_CLOSED answers are
 * taken for a gateway whose clock is behind (its window not open yet), and not counted: a gateway
 * of an older version answers an early claim so (a current one: CLAIM_WINDOW_NOT_OPEN, never
 * counted).
 */
const EARLY_REFUSALS_MS = 10 * 60_000;

/**
 * The code a claim whose gateway is not in the config waits with (its `lastError` starts with it):
 * said once, when the claim is first found so; such a claim is tried again at its give-up time
 * ({@link claimGivesUpAt}), or as soon as a node started with the gateway back in its config.
 */
export const CLAIM_GATEWAY_NOT_CONFIGURED = "CLAIM_GATEWAY_NOT_CONFIGURED";
/** The code of a claim given up because its gateway stayed out of the config past every window. */
export const CLAIM_ABANDONED = "CLAIM_ABANDONED";
/**
 * The code of a claim given up because its gateway, in the config, did not take it before its last
 * possible window closed (unreachable, or failing, every time it was tried).
 */
export const CLAIM_EXPIRED = "CLAIM_EXPIRED";

/**
 * Codes a gateway refuses a claim or proof with that no later try changes (the node sends the same
 * message again: same key, same root; an upgrade changes none of them either, unlike
 * {@link VERSION_REFUSALS}), each with what the node's runner can do.
 * Such a claim is rejected at once, logged once, and its relay rows pruned as a settled claim's.
 */
const FINAL_REFUSALS: ReadonlyMap<ErrorCode, string> = new Map<ErrorCode, string>([
  [
    "ADDRESS_MISMATCH",
    "the gateway no longer answers to the address this session's relays were signed for (its key changed, or another gateway runs at its url): check the gateway's address in gateways against the one it prints at start",
  ],
  [
    "INVALID_CLAIM",
    "the gateway's ledger does not hold the relays this claim counts: ask the gateway's operator",
  ],
  [
    "DUPLICATE_CLAIM",
    "the gateway holds another claim of this node's key for this session: run one node per key",
  ],
]);

/**
 * Refusals of a node and a gateway of different protocol versions: an upgrade can still get the
 * claim paid, so it is tried again (each failed try warned of with what to do) until its last
 * window closes, then given up as `CLAIM_EXPIRED`.
 */
const VERSION_REFUSALS: ReadonlyMap<ErrorCode, string> = new Map<ErrorCode, string>([
  [
    "INVALID_SIGNATURE",
    "the gateway does not accept this node's signature: run a node and a gateway of the same protocol version",
  ],
  [
    "MALFORMED_ENVELOPE",
    "the gateway does not read this node's messages: upgrade the node to the gateway's protocol version",
  ],
]);

/** What the runner of a node whose claim expired can do. */
const EXPIRED_ACTION =
  "check that the gateway's url in gateways reaches it, and that it is up; later sessions are claimed once it answers";
/**
 * Causes of orphaned claims remembered at most (see `orphansSaid`). A node with `gateways: []`
 * serves relays signed by any key, so the gateways it has claims of are as many as keys anyone
 * makes: past this many, the memory starts over (a gateway is then warned of once more).
 */
export const ORPHAN_CAUSES_KEPT = 1_024;

/**
 * When a claim no gateway took is given up: once no gateway takes it any more, past the longest
 * claim window a gateway opens after the session's end and grace (and for a claim already stored,
 * the longest proof window after that). A claim whose gateway is not in the config is given up
 * then; one whose gateway is, at its first failed try from then on (not one answered RATE_NOT_SET:
 * that gateway still takes it, once its rate is set). Its relay rows are pruned from
 * then on, as a settled claim's are. A gateway that was down extends the proof window of the claims
 * open then by as long, but never past this moment (its `downtime-credit.ts`): a claimed claim is
 * still being proven, by its failed tries every few minutes, whenever its gateway takes it.
 */
export const claimGivesUpAt = (session: SessionParams, row: ClaimRow): number =>
  row.sessionEnd +
  sessionGrace(session) +
  MAX_CLAIM_WINDOW_MS +
  (row.status === "claimed" ? MAX_PROOF_WINDOW_MS : 0);

/**
 * Rows one pruning statement deletes at most, and statements per pass: a pass deletes at most
 * 100,000 rows, a batch at a time with relays served in between, so a settled session of a busy
 * node never holds the event loop for long; the next passes go on.
 */
const PRUNE_BATCH = 2_000;
const PRUNE_BATCHES_PER_PASS = 50;

/**
 * How often the loop's passes look for ended sessions to claim and prune the ledger (`claimNow`
 * always does): claims are built at most this long after their session's grace, and at most a
 * tenth of a time-based session's length (short sessions, a test network's, are claimed sooner).
 */
const CLAIM_SEARCH_EVERY_MS = 30_000;

const searchEveryMs = (session: SessionParams) =>
  session.mode === "time"
    ? Math.min(CLAIM_SEARCH_EVERY_MS, session.sessionLengthMs / 10)
    : CLAIM_SEARCH_EVERY_MS;

export interface ClaimLoopDeps {
  readonly key: KeyPair;
  readonly relays: RelayStore;
  readonly claims: ClaimStore;
  readonly session: SessionParams;
  readonly gateways: ReadonlyMap<string, GatewayClient>;
  readonly metrics: NodeMetrics;
  readonly log: Logger;
  readonly now: () => number;
  /** How long a settled claim's relay rows (and refused rows of ended sessions) are kept. */
  readonly keepSettledMs: number;
  /**
   * The causes this process has warned of for claims no configured gateway takes (a code and a
   * gateway): each is a warning once, then a debug line per claim (a node with `gateways: []`
   * would otherwise warn twice per session of every gateway it serves). At most
   * {@link ORPHAN_CAUSES_KEPT}.
   */
  readonly orphansSaid: Set<string>;
}

/**
 * One pass of the claim cycle. Sessions whose window and grace have passed get a claim built
 * from the stored relay hashes (the tree is rebuilt from the ledger whenever needed, from the
 * claim's first `relayCount` rows: it is deterministic, so nothing but the rows must survive a
 * restart, and a relay answered after the claim was built is in no claim). Due claims are submitted; a
 * claimed one is proven for the leaf the gateway's seed picks. Failures back off and retry. The
 * ledger's rows no claim needs any more are then deleted (`pruneLedger`). With `search: false`
 * only due claims advance: the search for ended sessions and the pruning read ranges of the
 * ledger, so the loop runs them every `searchEveryMs`, not on every pass.
 */
export function claimPass(
  deps: ClaimLoopDeps,
  options: { readonly search?: boolean } = {},
): Effect.Effect<void, NodeStoreError> {
  const search = options.search !== false;
  return Effect.gen(function* () {
    const now = deps.now();
    const grace = sessionGrace(deps.session);
    for (const s of search ? deps.relays.unclaimedSessions(now - grace) : []) {
      yield* buildAlone(deps, s, now);
    }
    for (const row of deps.claims.due(now)) yield* advanceAlone(deps, row);
    if (search) yield* pruneLedger(deps, now - grace);
  });
}

type UnclaimedSession = ReturnType<RelayStore["unclaimedSessions"]>[number];

/**
 * Builds one ended session's claim, apart from the others': a session whose leaves make no tree is
 * left out (CLAIM_NOT_BUILT); a ledger read or write that fails, or a defect, is logged
 * (CLAIM_STEP_FAILED, its first line, no stack) and the session is tried again at the next search,
 * while the pass goes on with the other sessions and the due claims (without this, one session
 * whose claim could not be written stopped every claim of the node).
 */
function buildAlone(deps: ClaimLoopDeps, s: UnclaimedSession, now: number): Effect.Effect<void> {
  const failed = (error: string) =>
    Effect.sync(() => {
      deps.metrics.claims.inc({ gateway: s.gatewayAddress, status: "retry" });
      deps.log.error("claim not built; the node's other claims go on, this one is tried again later", {
        code: CLAIM_STEP_FAILED,
        sessionId: s.sessionId,
        gateway: s.gatewayAddress,
        error,
      });
    });
  return Effect.gen(function* () {
    const tree = yield* claimTreeOf(deps.relays, s.sessionId, s.gatewayAddress).pipe(
      Effect.catchTag("ClaimNotBuilt", (e) => {
        // One session's leaves that make no tree (weights past the protocol's bounds) must not
        // hold up the claims of every other session: it is left out, and said so.
        deps.log.warn("claim not built: its leaves make no claim tree", {
          code: "CLAIM_NOT_BUILT",
          sessionId: s.sessionId,
          gateway: s.gatewayAddress,
          reason: e.reason,
        });
        return Effect.succeed(undefined);
      }),
    );
    if (tree === undefined) return;
    const root = claimRoot(tree);
    yield* deps.claims.insertBuilt({
      ...s,
      root: root.root,
      relayCount: root.relays,
      computeUnits: root.computeUnits,
      nextAttemptAt: now,
      updatedAt: now,
    });
    deps.log.info("claim built", {
      sessionId: s.sessionId,
      gateway: s.gatewayAddress,
      relays: root.relays,
    });
  }).pipe(
    Effect.catchAll((e) => failed(e.message)),
    Effect.catchAllDefect((defect) => failed(describeThrown(defect))),
  );
}

/**
 * Deletes the relay rows no claim needs any more (see `RelayStore.prune`), kept `keepSettledMs`
 * after their claim settled or their session's grace ended: the ledger then holds the sessions
 * still to be claimed, not every relay the node ever served.
 */
function pruneLedger(deps: ClaimLoopDeps, graceEndedBefore: number): Effect.Effect<void, NodeStoreError> {
  return Effect.gen(function* () {
    const settledBefore = deps.now() - deps.keepSettledMs;
    const endedBefore = graceEndedBefore - deps.keepSettledMs;
    let pruned = 0;
    for (let batch = 0; batch < PRUNE_BATCHES_PER_PASS; batch++) {
      const deleted = yield* deps.relays.prune(settledBefore, endedBefore, PRUNE_BATCH);
      pruned += deleted;
      if (deleted < PRUNE_BATCH) break;
      // A turn of the event loop, not `Effect.yieldNow` (a microtask, most of the time: the relays
      // waiting on their sockets would run only once every batch is done).
      yield* nextTurn;
    }
    if (pruned > 0) {
      deps.metrics.ledgerPruned.inc({}, pruned);
      deps.log.info("relay ledger pruned", { rows: pruned });
    }
  });
}

/** The code of a claim whose step failed for a reason of the node's own (its ledger, a defect). */
export const CLAIM_STEP_FAILED = "CLAIM_STEP_FAILED";

/**
 * One due claim's step, apart from the others': a ledger write that fails, or a defect, while one
 * claim advances is logged (its first line, no stack) and the claim waits its backoff, as after a
 * failed call; the pass goes on with the other claims (without this, the same row came first in
 * every pass and no claim of the node advanced).
 */
function advanceAlone(deps: ClaimLoopDeps, row: ClaimRow): Effect.Effect<void> {
  const failed = (error: string) =>
    Effect.suspend(() => {
      const now = deps.now();
      const attempts = row.attempts + 1;
      deps.metrics.claims.inc({ gateway: row.gatewayAddress, status: "retry" });
      deps.log.error("claim step failed; the node's other claims go on, this one is tried again later", {
        code: CLAIM_STEP_FAILED,
        sessionId: row.sessionId,
        gateway: row.gatewayAddress,
        attempts,
        error,
      });
      // Its backoff, when the ledger takes it; when not, the claim is simply tried in the next pass.
      return deps.claims
        .failed(
          row.sessionId,
          row.gatewayAddress,
          attempts,
          now + claimBackoffMs(attempts),
          `${CLAIM_STEP_FAILED}: ${error}`,
          now,
        )
        .pipe(
          Effect.catchAll(() => Effect.void),
          Effect.catchAllDefect(() => Effect.void),
        );
    });
  // Suspended: a throw while `advance` builds its effect (`sessionWindow` on a session number out of
  // range) fails this claim's step, not the whole pass.
  return Effect.suspend(() => advance(deps, row)).pipe(
    Effect.catchAll((e) => failed(e.message)),
    Effect.catchAllDefect((defect) => failed(describeThrown(defect))),
  );
}

function advance(deps: ClaimLoopDeps, row: ClaimRow): Effect.Effect<void, NodeStoreError> {
  const gateway = deps.gateways.get(row.gatewayAddress);
  const now = deps.now();
  /** Past the claim's last window nothing can succeed any more: it is given up. */
  const expired = now >= claimGivesUpAt(deps.session, row);
  const expire = (error: string) =>
    settle(
      deps,
      row,
      "rejected",
      "0",
      `${CLAIM_EXPIRED}: the gateway did not take the claim before its last window closed (last try: ${error})`,
      null,
      { counted: "expired", action: EXPIRED_ACTION },
    );
  /** A refusal no later try changes: the claim is rejected, with the gateway's code and reason. */
  const refusedForGood = (e: GatewayCallError) => {
    const action = e.pocketCode === undefined ? undefined : FINAL_REFUSALS.get(e.pocketCode);
    return action === undefined
      ? undefined
      : settle(deps, row, "rejected", "0", `${e.pocketCode}: ${e.reason}`, null, { action });
  };
  const retryLater = (error: string, windowRefusals?: number, refusal?: GatewayCallError) => {
    // RATE_NOT_SET says the gateway still takes the claim: a rate set late opens a full claim
    // window from when it is set, however long after the session (see the gateway's claim intake).
    if (expired && refusal?.pocketCode !== "RATE_NOT_SET") return expire(error);
    const action = refusal?.pocketCode === undefined ? undefined : VERSION_REFUSALS.get(refusal.pocketCode);
    const attempts = row.attempts + 1;
    return deps.claims
      .failed(
        row.sessionId,
        row.gatewayAddress,
        attempts,
        now + claimBackoffMs(attempts),
        error,
        now,
        windowRefusals,
      )
      .pipe(
        Effect.tap(() => {
          deps.metrics.claims.inc({ gateway: row.gatewayAddress, status: "retry" });
          deps.log.warn("claim step failed; will retry", {
            sessionId: row.sessionId,
            attempts,
            error,
            ...(action === undefined ? {} : { code: refusal?.pocketCode, action }),
          });
        }),
      );
  };
  /**
   * A proof refused with INVALID_PROOF (not answered with a rejected receipt): the gateway holds
   * no claim of this node and session (its database lost it, restored from a backup taken before
   * the claim). Proving again can never work; the claim is sent again, while its window is open.
   */
  const claimAgain = (error: GatewayCallError) => {
    if (expired) return expire(error.message);
    const attempts = row.attempts + 1;
    return deps.claims
      .reclaim(
        row.sessionId,
        row.gatewayAddress,
        attempts,
        now + claimBackoffMs(attempts),
        error.message,
        now,
      )
      .pipe(
        Effect.tap(() => {
          deps.metrics.claims.inc({ gateway: row.gatewayAddress, status: "retry" });
          deps.log.warn("the gateway holds no claim for this session; the claim is sent again", {
            code: "CLAIM_NOT_HELD",
            sessionId: row.sessionId,
            gateway: row.gatewayAddress,
            attempts,
          });
        }),
      );
  };
  if (gateway === undefined) return orphaned(deps, row, now);
  const root = claimedRoot(row);
  const window = sessionWindow(deps.session, row.sessionNumber);
  const header = {
    applicationAddress: row.applicationAddress,
    serviceId: row.serviceId,
    sessionNumber: row.sessionNumber,
    sessionId: deriveSessionId(row.applicationAddress, row.serviceId, row.sessionNumber),
    sessionStart: window.start,
    sessionEnd: window.end,
  };

  if (row.status === "built") {
    const message = createClaimSubmission(
      { gatewayAddress: row.gatewayAddress, header, root, issuedAt: now },
      deps.key,
    );
    return gateway.submitClaim(message).pipe(
      // A receipt that is not the gateway's, or not for this claim, is no answer: retried.
      Effect.flatMap((answer) =>
        receiptOf(gateway, GATEWAY_PROCEDURES.submitClaim, verifyClaimAck(answer, expected(deps, row))),
      ),
      Effect.tap((ack) =>
        deps.claims
          .claimed(row.sessionId, row.gatewayAddress, ack.proofSeed, JSON.stringify(ack), deps.now())
          .pipe(
            Effect.tap(() => deps.metrics.claims.inc({ gateway: row.gatewayAddress, status: "claimed" })),
          ),
      ),
      // The leaf to prove comes from the seed and the node's own root, not from the ack's index.
      Effect.flatMap((ack) => prove(deps, gateway, { ...row, status: "claimed", proofSeed: ack.proofSeed })),
      Effect.catchTag("GatewayCallError", (e) => {
        // The proof that follows an accepted claim found no claim at the gateway.
        if (e.pocketCode === "INVALID_PROOF") return claimAgain(e);
        // A closed window may only mean this node's clock runs ahead of the gateway's, or one
        // replica of a gateway answering by an older rule: a few more of them before the claim is
        // given up, counted apart from the claim's other tries (a week whose rate came days late
        // leaves a claim many RATE_NOT_SET tries, which must not use up these).
        // A window not open yet by the gateway's clock (CLAIM_WINDOW_NOT_OPEN) is never counted:
        // the claim is simply early. A gateway of an older version answers CLAIM_WINDOW_CLOSED
        // then too: in the first minutes after the window opened by this node's clock, such a
        // refusal may only mean the gateway's clock is behind, and is not counted either.
        const early =
          deps.session.mode === "time" &&
          now < row.sessionEnd + sessionGrace(deps.session) + EARLY_REFUSALS_MS;
        const windowRefusals =
          e.pocketCode === "CLAIM_WINDOW_CLOSED" && !early ? row.windowRefusals + 1 : undefined;
        const refused = refusedForGood(e);
        if (refused !== undefined) return refused;
        return windowRefusals !== undefined && windowRefusals >= CLAIM_WINDOW_ATTEMPTS
          ? settle(deps, row, "rejected", "0", `${e.pocketCode}: ${e.reason}`, null)
          : retryLater(e.message, windowRefusals, e);
      }),
    );
  }
  if (row.proofSeed === null) return retryLater("claimed without a proof seed");
  return prove(deps, gateway, row).pipe(
    Effect.catchTag("GatewayCallError", (e) =>
      e.pocketCode === "INVALID_PROOF"
        ? claimAgain(e)
        : (refusedForGood(e) ?? retryLater(e.message, undefined, e)),
    ),
  );
}

/**
 * A claim whose gateway is not in the config (removed from it, or a node with `gateways: []`, which
 * serves any gateway and registers with none): no claim can be sent, so it is not tried every few
 * minutes. It waits, said once, until its give-up time; then it is given up, said once, and its
 * rows are pruned. Each is a warning for a gateway's first such claim in this process and a debug
 * line for its later ones (`orphansSaid`). A node started with the gateway in its config again tries it at once
 * ({@link resumeClaims}).
 */
function orphaned(deps: ClaimLoopDeps, row: ClaimRow, now: number): Effect.Effect<void, NodeStoreError> {
  const givesUpAt = claimGivesUpAt(deps.session, row);
  const about = { sessionId: row.sessionId, gateway: row.gatewayAddress };
  /** Warns of a cause the first time for its gateway, then says it at debug level. */
  const say = (code: string, message: string, fields: Record<string, unknown>) => {
    const cause = `${code}:${row.gatewayAddress}`;
    if (deps.orphansSaid.has(cause)) return deps.log.debug(message, { code, ...fields });
    if (deps.orphansSaid.size >= ORPHAN_CAUSES_KEPT) deps.orphansSaid.clear();
    deps.orphansSaid.add(cause);
    deps.log.warn(message, {
      code,
      ...fields,
      later:
        "this gateway's later claims of this kind are logged at debug level and counted in pocket_node_claims_total",
    });
  };
  if (now >= givesUpAt) {
    const detail = `${CLAIM_ABANDONED}: gateway ${row.gatewayAddress} is not in this node's config, and no gateway takes a claim of this session any more`;
    return deps.claims.settled(row.sessionId, row.gatewayAddress, "rejected", "0", detail, null, now).pipe(
      Effect.tap(() => {
        deps.metrics.claims.inc({ gateway: row.gatewayAddress, status: "abandoned" });
        say(
          CLAIM_ABANDONED,
          "claim given up: its gateway is not in this node's config, and the longest claim window a gateway opens has passed; its relay rows are pruned",
          { ...about, relays: row.relayCount },
        );
      }),
    );
  }
  const marked = row.lastError?.startsWith(`${CLAIM_GATEWAY_NOT_CONFIGURED}:`) === true;
  const error = `${CLAIM_GATEWAY_NOT_CONFIGURED}: gateway ${row.gatewayAddress} is not in this node's config`;
  return deps.claims.failed(row.sessionId, row.gatewayAddress, row.attempts, givesUpAt, error, now).pipe(
    Effect.tap(() => {
      if (marked) return;
      deps.metrics.claims.inc({ gateway: row.gatewayAddress, status: "waiting" });
      say(
        CLAIM_GATEWAY_NOT_CONFIGURED,
        "claim waits: its gateway is not in this node's config; add the gateway's url and address to gateways to send it, or it is given up when no gateway would take it any more",
        { ...about, givesUpAt: new Date(givesUpAt).toISOString() },
      );
    }),
  );
}

/**
 * At start: the claims that waited for a gateway missing from an earlier config, and whose gateway
 * is in this one, are due at once (not at their give-up time).
 */
export function resumeClaims(deps: ClaimLoopDeps): Effect.Effect<void, NodeStoreError> {
  return Effect.gen(function* () {
    const resumed = yield* deps.claims.dueAgain(
      [...deps.gateways.keys()],
      `${CLAIM_GATEWAY_NOT_CONFIGURED}:`,
      deps.now(),
    );
    if (resumed > 0)
      deps.log.info("claims whose gateway is in the config again are sent", { claims: resumed });
  });
}

/** The root a claim row was submitted with. */
const claimedRoot = (row: ClaimRow): ClaimRoot => ({
  root: row.root,
  relays: row.relayCount,
  computeUnits: row.computeUnits,
});

/** What a receipt for this claim must say: the gateway asked, this node, the session and the root claimed. */
const expected = (deps: ClaimLoopDeps, row: ClaimRow) => ({
  gatewayAddress: row.gatewayAddress,
  nodeAddress: deps.key.address,
  sessionId: row.sessionId,
  root: claimedRoot(row),
});

/** A checked receipt, or the check's refusal as a failed call (the claim is retried, as after any failed call). */
function receiptOf<A>(gateway: GatewayClient, procedure: string, checked: Result<A>) {
  return checked.ok
    ? Effect.succeed(checked.value)
    : Effect.fail(
        new GatewayCallError({
          gateway: gateway.url,
          procedure,
          reason: `its receipt does not check (${checked.error.code}: ${checked.error.detail ?? checked.error.message})`,
        }),
      );
}

function prove(deps: ClaimLoopDeps, gateway: GatewayClient, row: ClaimRow) {
  return Effect.gen(function* () {
    if (row.proofSeed === null) return;
    // The tree the claim was built from: its first relays, not one written into the session since.
    const tree = yield* claimTreeOf(deps.relays, row.sessionId, row.gatewayAddress, row.relayCount).pipe(
      Effect.orDieWith((e) => new Error(`its ledger rows make no claim tree any more (${e.reason})`)),
    );
    const root = tree === undefined ? undefined : claimRoot(tree);
    if (tree === undefined || root === undefined || root.root !== row.root) {
      // Never expected (rows are kept until their claim settles); a proof of another tree is refused.
      return yield* settle(
        deps,
        row,
        "rejected",
        "0",
        "the ledger no longer holds the relays this claim was built from",
        null,
      );
    }
    const index = proofLeafIndex(row.proofSeed, root);
    const proof = proveClaimLeaf(tree, index);
    const message = createProofSubmission(
      { gatewayAddress: row.gatewayAddress, sessionId: row.sessionId, proof, issuedAt: deps.now() },
      deps.key,
    );
    const answer = yield* gateway.submitProof(message);
    const ack = yield* receiptOf(
      gateway,
      GATEWAY_PROCEDURES.submitProof,
      verifyProofAck(answer, expected(deps, row)),
    );
    yield* settle(deps, row, ack.status, ack.mintedUpokt, ack.detail ?? null, JSON.stringify(ack));
  });
}

function settle(
  deps: ClaimLoopDeps,
  row: ClaimRow,
  status: "proven" | "rejected",
  minted: string,
  detail: string | null,
  receipt: string | null,
  /** The metric's status when not `status`, and what the runner can do about a rejection. */
  options: { readonly counted?: string; readonly action?: string } = {},
) {
  return deps.claims
    .settled(row.sessionId, row.gatewayAddress, status, minted, detail, receipt, deps.now())
    .pipe(
      Effect.tap(() => {
        deps.metrics.claims.inc({ gateway: row.gatewayAddress, status: options.counted ?? status });
        const about = { sessionId: row.sessionId, gateway: row.gatewayAddress, mintedUpokt: minted };
        if (status === "proven") return deps.log.info("claim proven", about);
        // The session is not paid: its runner is told why (the gateway's code, when it gave one).
        deps.log.warn("claim rejected", {
          code: /^([A-Z][A-Z_]*):/.exec(detail ?? "")?.[1] ?? "CLAIM_REJECTED",
          ...about,
          reason: detail ?? "rejected",
          ...(options.action === undefined ? {} : { action: options.action }),
        });
      }),
    );
}

/**
 * The claim loop: a pass every `claimLoopInterval` while the layer lives (unless the settings turn
 * it off), and `claimNow` to run one pass at once. A pass that fails is logged; the next one retries.
 */
export class ClaimLoop extends Context.Tag("node/ClaimLoop")<
  ClaimLoop,
  { readonly claimNow: Effect.Effect<void> }
>() {
  static readonly layer = Layer.scoped(
    ClaimLoop,
    Effect.gen(function* () {
      const settings = yield* NodeSettings;
      const { log } = settings;
      const clock = yield* NodeClock;
      const deps: ClaimLoopDeps = {
        key: (yield* NodeIdentity).key,
        relays: yield* RelayLedger,
        claims: yield* ClaimLedger,
        session: settings.config.session,
        gateways: yield* GatewayClients,
        metrics: yield* Metrics,
        log,
        now: clock.now,
        keepSettledMs: settings.config.ledger.keepSettledMs,
        orphansSaid: new Set(),
      };
      const logged = (pass: Effect.Effect<void, NodeStoreError>) =>
        pass.pipe(
          Effect.catchAll((e) => Effect.sync(() => log.error("claim pass failed", { error: e.message }))),
          Effect.catchAllDefect((defect) =>
            Effect.sync(() => log.error("claim pass failed", { error: describeThrown(defect) })),
          ),
        );
      const claimNow = logged(claimPass(deps));
      let searchedAt = Number.NEGATIVE_INFINITY;
      const searchEvery = searchEveryMs(deps.session);
      const scheduled = Effect.suspend(() => {
        const now = clock.now();
        const search = now - searchedAt >= searchEvery;
        if (search) searchedAt = now;
        return logged(claimPass(deps, { search }));
      });
      yield* logged(resumeClaims(deps));
      if (settings.claimLoop)
        yield* Effect.forkScoped(Effect.repeat(scheduled, Schedule.spaced(claimLoopInterval)));
      return { claimNow };
    }),
  );
}
