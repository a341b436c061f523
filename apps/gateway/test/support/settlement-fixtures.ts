import {
  buildClaimTree,
  type ClaimRoot,
  type ClaimTree,
  claimRoot,
  createClaimSubmission,
  createProofSubmission,
  deriveSessionHeader,
  generateKeyPair,
  type KeyPair,
  proveClaimLeaf,
  type ReceiptExpectations,
  type SessionHeader,
  sha256Hex,
} from "@pocket-ai/protocol";
import { sql } from "drizzle-orm";
import { Effect } from "effect";
import { GatewayStore } from "../../src/db/database.js";
import { TEST_GATEWAY, TEST_SESSION_PARAMS } from "./settlement-test-layer.js";

/** Test fixtures: nodes, the front door's relay ledger, sessions, and the node's side of a claim. */

/** A Tuesday of ISO week 2026-W48 (Monday 2026-11-23), 10:00 UTC. */
export const W48_TUESDAY = Date.UTC(2026, 10, 24, 10);
export const HOUR = 3_600_000;

export interface LedgerRelay {
  readonly leafHash: string;
  readonly computeUnits: number;
  readonly outcome?: "ok" | "error" | "interrupted";
  readonly inputTokens?: number;
  readonly outputTokens?: number;
  readonly images?: number;
  /** The relay's operation (default `chat.completions`). */
  readonly operation?: string;
}

/** `n` distinct relays of one session at `computeUnits` each (a text tier: 1 CU = 1 µUSD). */
export const ledgerRelays = (
  header: SessionHeader,
  n: number,
  computeUnits = 750,
  tag = "r",
): LedgerRelay[] =>
  Array.from({ length: n }, (_, i) => ({
    leafHash: sha256Hex(`${tag}/${header.sessionId}/${i}`),
    computeUnits,
    inputTokens: 120,
    outputTokens: 400,
  }));

export const sessionAt = (timeMs: number, serviceId = "llama-2-13b", app = generateKeyPair().address) =>
  deriveSessionHeader(TEST_SESSION_PARAMS, app, serviceId, timeMs);

/** A moment inside the claim window of a session (its end, plus grace, plus a second). */
export const claimTime = (header: SessionHeader) => header.sessionEnd + TEST_SESSION_PARAMS.graceMs + 1_000;

/** Registers a node the way the routing side does: a row in `nodes`. */
export const registerNode = (node: KeyPair) =>
  Effect.flatMap(GatewayStore, (db) =>
    Effect.promise(() =>
      db.run(sql`insert into nodes (address, public_key, endpoint, operator, announcement, registered_at, last_announced_at)
        values (${node.address}, ${node.publicKeyHex}, 'http://node.invalid/trpc', 'test', '{}', 0, 0)`),
    ),
  );

/** Writes relays to the front door's ledger in one transaction, many rows per statement (fast enough for 100,000 rows). */
export const writeLedger = (header: SessionHeader, node: string, relays: readonly LedgerRelay[]) =>
  Effect.flatMap(GatewayStore, (db) =>
    Effect.promise(() =>
      db.transaction(async (tx) => {
        // Literal values (hex hashes, addresses, numbers: nothing to escape but quotes), so that
        // 100,000 rows do not go through 1.5 million bound parameters.
        const text = (v: string) => `'${v.replaceAll("'", "''")}'`;
        for (let at = 0; at < relays.length; at += 1000) {
          const values = relays
            .slice(at, at + 1000)
            .map((r) =>
              [
                text(sha256Hex(`request/${r.leafHash}`)),
                "'app_test'",
                "'key_test'",
                text(header.serviceId),
                "'standard'",
                text(r.operation ?? "chat.completions"),
                text(node),
                text(header.sessionId),
                header.sessionNumber,
                text(r.outcome ?? "ok"),
                text(r.leafHash),
                r.computeUnits,
                r.inputTokens ?? 0,
                r.outputTokens ?? 0,
                r.images ?? 0,
                r.computeUnits,
                header.sessionStart,
              ].join(", "),
            );
          await tx.run(
            sql.raw(`insert into relays (request_hash, application_id, key_id, service_id, tier, operation,
              node_address, session_id, session_number, outcome, leaf_hash, compute_units, input_tokens,
              output_tokens, images, price_micro_usd, created_at)
            values (${values.join("), (")})`),
          );
        }
      }),
    ),
  );

/** The node's claim tree over the leaves it kept, and its signed claim to the test gateway. */
export function nodeClaim(
  node: KeyPair,
  header: SessionHeader,
  leaves: readonly LedgerRelay[],
  issuedAt = 0,
) {
  const tree = buildClaimTree(leaves.map((l) => ({ hash: l.leafHash, computeUnits: l.computeUnits })));
  const root = claimRoot(tree);
  const submission = createClaimSubmission(
    { gatewayAddress: TEST_GATEWAY.address, header, root, issuedAt },
    node,
  );
  return { tree, root, submission };
}

/** The node's signed proof of one leaf of its tree. */
export const nodeProof = (node: KeyPair, header: SessionHeader, tree: ClaimTree, leafIndex: number) =>
  createProofSubmission(
    {
      gatewayAddress: TEST_GATEWAY.address,
      sessionId: header.sessionId,
      proof: proveClaimLeaf(tree, leafIndex),
      issuedAt: 0,
    },
    node,
  );

/** What a node checks the test gateway's signed receipts for its claim against (`verifyClaimAck`, `verifyProofAck`). */
export const receiptExpectations = (
  node: KeyPair,
  header: SessionHeader,
  root: ClaimRoot,
): ReceiptExpectations => ({
  gatewayAddress: TEST_GATEWAY.address,
  nodeAddress: node.address,
  sessionId: header.sessionId,
  root,
});
