import { createProofAck, type KeyPair, type ProofAck, verifyProofSubmission } from "@pocket-ai/protocol";
import { Clock, Effect } from "effect";
import { proofDeadline, proofWindowClosed } from "./claim-expiry.js";
import { mintOfClaim } from "./claim-mint.js";
import { type ClaimRow, findClaim, settleClaim } from "./claim-store.js";
import { InvalidProof, refusalOf } from "./errors.js";
import { proofLedger } from "./relay-ledger.js";
import { rootOf, type SettlementDeps } from "./settlement-deps.js";

/** The answer a settled claim gives, every time it is asked: the gateway's signed receipt. */
export function proofAckOf(row: ClaimRow, key: KeyPair, now: number): ProofAck {
  const about = { nodeAddress: row.nodeAddress, sessionId: row.sessionId, root: rootOf(row), issuedAt: now };
  return createProofAck(
    row.status === "proven"
      ? { status: "proven", mintedUpokt: row.mintedUpokt ?? "0", ...about }
      : { status: "rejected", mintedUpokt: "0", detail: (row.detail ?? "rejected").slice(0, 1024), ...about },
    key,
  );
}

/**
 * A node's proof of the leaf its claim's seed picked. A message that is not the node's own
 * (schema, signature, another gateway) or that matches no stored claim is refused with an error
 * and changes nothing. A proof the node signed for its stored claim settles that claim for good:
 * `proven` with the mint when the leaf verifies against the root AND is a relay this gateway
 * signed and verified for that node and session, with the same compute units; otherwise
 * `rejected` with the reason. Asked again, a settled claim answers the same ack.
 */
export function makeSubmitProof(deps: SettlementDeps) {
  const { use, identity, config } = deps;
  return Effect.fn("Settlement.submitProof")(function* (input: unknown) {
    const now = yield* Clock.currentTimeMillis;
    const signed = verifyProofSubmission(input, { gatewayAddress: identity.address });
    if (!signed.ok) return yield* refusalOf(signed.error);
    const { sessionId, node, proof } = signed.value.submission;
    const row = yield* use("claims.find", (db) => findClaim(db, sessionId, node.address));
    if (row === undefined) {
      return yield* new InvalidProof({
        detail: `node ${node.address} has no claim for session ${sessionId}; submit the claim first`,
      });
    }
    const ackOf = (settled: ClaimRow) => proofAckOf(settled, identity.key, now);
    if (row.status !== "claimed") return ackOf(row);

    const settle = (
      status: "proven" | "rejected",
      mintedUpokt: string,
      paid: { readonly relays: number; readonly computeUnits: string } | null,
      detail: string | null,
    ) =>
      Effect.map(
        use("claims.settle", (db) =>
          settleClaim(db, row, { status, mintedUpokt, paid, detail, settledAt: now }),
        ),
        ackOf,
      );
    const reject = (detail: string) => settle("rejected", "0", null, detail);

    const deadline = proofDeadline(row, config.proofWindowMs);
    if (now > deadline) return yield* reject(proofWindowClosed(deadline));
    const proven = verifyProofSubmission(input, {
      gatewayAddress: identity.address,
      claim: rootOf(row),
      leafIndex: row.leafIndex,
    });
    if (!proven.ok)
      return yield* reject(`${proven.error.code}: ${proven.error.detail ?? proven.error.message}`);

    const ledger = yield* use("relays.proofLedger", (db) =>
      proofLedger(db, sessionId, node.address, proof.leaf.hash),
    );
    const ledgerCu = ledger.leafComputeUnits;
    if (ledgerCu === undefined) {
      return yield* reject(
        `INVALID_PROOF: leaf ${proof.leaf.hash} is not a relay this gateway verified for this node and session`,
      );
    }
    if (ledgerCu !== proof.leaf.computeUnits) {
      return yield* reject(
        `INVALID_PROOF: leaf ${proof.leaf.hash} weighs ${proof.leaf.computeUnits} compute units in the proof; the gateway verified ${ledgerCu}`,
      );
    }
    // Minted for at most what the gateway itself verified (see the claim intake).
    const claimed = rootOf(row);
    const claimedCu = BigInt(claimed.computeUnits);
    const billable = {
      root: claimed.root,
      relays: Math.min(claimed.relays, ledger.relays),
      computeUnits: (claimedCu < ledger.computeUnits ? claimedCu : ledger.computeUnits).toString(),
    };
    const minted = mintOfClaim(
      row.serviceId,
      billable,
      { weekId: row.weekId, rateMicroUsdPerPokt: row.rateMicroUsdPerPokt },
      ledger.maxComputeUnits,
    );
    return yield* settle(
      "proven",
      minted.toString(),
      { relays: billable.relays, computeUnits: billable.computeUnits },
      row.detail ?? null,
    );
  });
}
