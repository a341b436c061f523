import {
  type ClaimAck,
  checkClaimAgainstLedger,
  createClaimAck,
  deriveSessionId,
  generateProofSeed,
  type SessionHeader,
  sessionWindow,
  verifyClaimSubmission,
  weekIdOf,
} from "@pocket-ai/protocol";
import { sql } from "drizzle-orm";
import { Clock, Effect } from "effect";
import { type ClaimRow, findClaim, findRate, insertClaimOnce, lockRate } from "./claim-store.js";
import {
  ClaimWindowClosed,
  ClaimWindowNotOpen,
  DuplicateClaim,
  InvalidClaim,
  RateNotSet,
  refusalOf,
} from "./errors.js";
import { sessionLedger } from "./relay-ledger.js";
import { isoTime, rootOf, type SettlementDeps, sameRoot } from "./settlement-deps.js";

/** Why a header is not one of this gateway's sessions, or undefined when it is. */
function headerMismatch(header: SessionHeader, deps: SettlementDeps): string | undefined {
  const { applicationAddress, serviceId, sessionNumber } = header;
  if (deriveSessionId(applicationAddress, serviceId, sessionNumber) !== header.sessionId) {
    return `session id ${header.sessionId} is not the id of session ${sessionNumber} of ${applicationAddress} for ${serviceId}`;
  }
  let window: { start: number; end: number };
  try {
    window = sessionWindow(deps.identity.session, sessionNumber);
  } catch {
    return `session ${sessionNumber} is outside this gateway's sessions`;
  }
  if (window.start !== header.sessionStart || window.end !== header.sessionEnd) {
    return `session ${sessionNumber} runs [${window.start}, ${window.end}) here, not [${header.sessionStart}, ${header.sessionEnd})`;
  }
  // A window of whole milliseconds may still end past the last date a clock can show (275760):
  // no relay was served in it, and its claim window could not be named in an answer.
  const closesAt = window.end + deps.identity.session.graceMs + deps.config.claimWindowMs;
  if (Number.isNaN(new Date(closesAt).getTime())) {
    return `session ${sessionNumber} is outside this gateway's sessions: it ends after the last date a clock can show`;
  }
  return undefined;
}

/**
 * A node's claim for one session: verified (signature, addressed to us, a session this gateway
 * derives, a registered node, inside the claim window), compared with the gateway's own ledger of
 * verified answers, priced at the week's rate, stored with a fresh proof seed. The same claim again
 * gets the same seed (`duplicate`); another root for the same node and session is refused.
 */
export function makeSubmitClaim(deps: SettlementDeps) {
  const { use, identity, config } = deps;
  return Effect.fn("Settlement.submitClaim")(function* (input: unknown) {
    const now = yield* Clock.currentTimeMillis;
    const checked = verifyClaimSubmission(input, { gatewayAddress: identity.address });
    if (!checked.ok) return yield* refusalOf(checked.error);
    const { header, root, node } = checked.value.submission;
    const mismatch = headerMismatch(header, deps);
    if (mismatch !== undefined) return yield* new InvalidClaim({ detail: mismatch });

    // The gateway's signed receipt of the claim it holds, with the seed that picks the leaf.
    const receipt = (status: ClaimAck["status"], proofSeed: string) =>
      createClaimAck(
        { status, proofSeed, nodeAddress: node.address, sessionId: header.sessionId, root, issuedAt: now },
        identity.key,
      );
    const answerTo = (row: ClaimRow): Effect.Effect<ClaimAck, DuplicateClaim> =>
      sameRoot(rootOf(row), root)
        ? Effect.succeed(receipt("duplicate", row.proofSeed))
        : Effect.fail(new DuplicateClaim({ sessionId: header.sessionId, nodeAddress: node.address }));
    const earlier = yield* use("claims.find", (db) => findClaim(db, header.sessionId, node.address));
    if (earlier !== undefined) return yield* answerTo(earlier);

    const opensAt = header.sessionEnd + identity.session.graceMs;
    const closesAt = opensAt + config.claimWindowMs;
    if (now < opensAt) {
      return yield* new ClaimWindowNotOpen({
        detail: `the claim window of session ${header.sessionId} opens at ${isoTime(opensAt)}, after the session's grace; claim then`,
      });
    }
    if (now > closesAt) {
      // Until the week's rate is set every claim of it is refused (RATE_NOT_SET): a rate set late
      // opens a full window from when it was set, so the claims nodes kept retrying are not lost.
      // Until then a late claim is told so, as an early one is: the node keeps trying.
      const weekId = weekIdOf(header.sessionStart);
      const rate = yield* use("weeklyRates.find", (db) => findRate(db, weekId));
      if (rate === undefined) return yield* new RateNotSet({ weekId });
      const reopensUntil = rate.setAt + config.claimWindowMs;
      if (now > reopensUntil) {
        return yield* new ClaimWindowClosed({
          detail: `the claim window of session ${header.sessionId} closed at ${isoTime(Math.max(closesAt, reopensUntil))}`,
        });
      }
    }

    const registered = yield* use("nodes.find", (db) =>
      db.get<{ address: string }>(sql`select address from nodes where address = ${node.address}`),
    );
    if (registered === undefined) {
      return yield* new InvalidClaim({ detail: `node ${node.address} is not registered with this gateway` });
    }
    const ledger = yield* use("relays.sessionLedger", (db) =>
      sessionLedger(db, header.sessionId, node.address),
    );
    if (ledger.relays === 0) {
      return yield* new InvalidClaim({
        detail: `this gateway verified no relay of node ${node.address} in session ${header.sessionId}`,
      });
    }
    // A claim above the ledger is accepted but minted at most what this gateway verified: a relay
    // the node answered just as the gateway gave up on it (a hedge's loser, a timeout) would
    // otherwise cost the node its whole session, and an inflated claim gains nothing.
    const againstLedger = checkClaimAgainstLedger(root, ledger);
    const overLedger = againstLedger.ok
      ? null
      : `${againstLedger.error.detail ?? againstLedger.error.message}; minted at most what this gateway verified`;

    const weekId = weekIdOf(header.sessionStart);
    const proofSeed = generateProofSeed();
    const ack = receipt("accepted", proofSeed);
    // The rate is read under its row lock and the claim stored in the same transaction, so a
    // replica changing the rate meanwhile either sees this claim (and refuses) or comes first.
    const stored = yield* use("claims.insert", (db) =>
      db.transaction(async (tx) => {
        const rate = await lockRate(tx, weekId);
        if (rate === undefined) return undefined;
        return insertClaimOnce(tx, {
          sessionId: header.sessionId,
          nodeAddress: node.address,
          serviceId: header.serviceId,
          applicationAddress: header.applicationAddress,
          sessionNumber: header.sessionNumber,
          sessionEnd: header.sessionEnd,
          root: root.root,
          relayCount: root.relays,
          computeUnits: root.computeUnits,
          proofSeed,
          leafIndex: ack.leafIndex,
          status: "claimed",
          weekId,
          rateMicroUsdPerPokt: rate.rateMicroUsdPerPokt,
          detail: overLedger,
          claimedAt: now,
        });
      }),
    );
    if (stored === undefined) return yield* new RateNotSet({ weekId });
    // Another submission of this node and session may have been stored in between.
    return stored.proofSeed === proofSeed ? ack : yield* answerTo(stored);
  });
}
