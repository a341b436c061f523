/**
 * The claim a node submits is the one it proves: a relay of the session answered after the claim
 * was built (admitted during the grace, a long generation) must not change the tree the proof is
 * built from when the claim step is retried (here the gateway has no rate for the week yet).
 */
import {
  type ClaimRoot,
  createClaimAck,
  createProofAck,
  deriveSessionId,
  generateKeyPair,
  generateProofSeed,
  proofLeafIndex,
  verifyClaimSubmission,
  verifyProofSubmission,
} from "@pocket-ai/protocol";
import { createLogger } from "@pocket-ai/runtime";
import { Effect } from "effect";
import { describe, expect, it } from "vitest";
import { openLedger } from "../../test/helpers/ledger-fixtures.js";
import { ClaimStore } from "../db/claim-store.js";
import { RelayStore } from "../db/relay-store.js";
import { GatewayCallError, type GatewayClient } from "../gateway-link/gateway-client.js";
import { makeNodeMetrics } from "../metrics/node-metrics.js";
import { claimPass } from "./claim-loop.js";

const SESSION = { mode: "time", genesisMs: 0, sessionLengthMs: 1_000_000, graceMs: 1_000 } as const;
const hash = (i: number) => i.toString(16).padStart(64, "0");

describe("a claim retried after a relay of its session was answered late", () => {
  it("is proven from the relays it was built from, and the late one is in no claim", async () => {
    const { db, close } = await openLedger();
    const relays = new RelayStore(db);
    const claimStore = new ClaimStore(db);
    const node = generateKeyPair();
    const gatewayKey = generateKeyPair();
    const app = generateKeyPair().address;
    const sessionId = deriveSessionId(app, "llama-2-13b", 0);
    const sessionEnd = SESSION.sessionLengthMs;
    const admitted = (i: number) => ({
      requestHash: hash(i),
      sessionId,
      sessionNumber: 0,
      sessionEnd,
      serviceId: "llama-2-13b",
      tier: "standard",
      applicationAddress: app,
      gatewayAddress: gatewayKey.address,
      expiresAt: sessionEnd + SESSION.graceMs,
    });
    const answer = (i: number, at: number) =>
      relays.answer(
        hash(i),
        {
          responseHash: hash(500 + i),
          leafHash: hash(1_000 + i),
          inputTokens: 10,
          outputTokens: 10,
          computeUnits: 750,
        },
        at,
      );
    // Three relays served in the session; one admitted during the grace is still running.
    await Effect.runPromise(
      Effect.gen(function* () {
        // The late relay's request hash sorts first: only the order rows were written in tells.
        for (let i = 1; i <= 3; i++) {
          expect(yield* relays.admit(admitted(i), 500_000)).toBe(true);
          yield* answer(i, 500_001);
        }
        expect(yield* relays.admit(admitted(0), sessionEnd + 500)).toBe(true);
      }),
    );

    // A gateway that says RATE_NOT_SET once, then stores the claim and checks the proof against it.
    let refuseOnce = true;
    let stored: { root: ClaimRoot; seed: string } | undefined;
    const outcomes: string[] = [];
    const gateway: GatewayClient = {
      url: "http://gateway.invalid",
      announce: () => Effect.die("unused"),
      submitClaim: (message) =>
        Effect.suspend(() => {
          if (refuseOnce) {
            refuseOnce = false;
            return Effect.fail(
              new GatewayCallError({
                gateway: "g",
                procedure: "submitClaim",
                pocketCode: "RATE_NOT_SET",
                reason: "no POKT rate is set",
              }),
            );
          }
          const v = verifyClaimSubmission(message, { gatewayAddress: gatewayKey.address });
          if (!v.ok) return Effect.die(v.error);
          stored = stored ?? { root: v.value.submission.root, seed: generateProofSeed() };
          return Effect.succeed(
            createClaimAck(
              {
                status: "accepted",
                proofSeed: stored.seed,
                nodeAddress: node.address,
                sessionId,
                root: stored.root,
                issuedAt: 0,
              },
              gatewayKey,
            ),
          );
        }),
      submitProof: (message) =>
        Effect.sync(() => {
          const checked = verifyProofSubmission(message, {
            gatewayAddress: gatewayKey.address,
            claim: stored!.root,
            leafIndex: proofLeafIndex(stored!.seed, stored!.root),
          });
          outcomes.push(checked.ok ? "proven" : `rejected: ${checked.error.detail}`);
          const about = { nodeAddress: node.address, sessionId, root: stored!.root, issuedAt: 0 };
          return checked.ok
            ? createProofAck({ status: "proven", mintedUpokt: "9000", ...about }, gatewayKey)
            : createProofAck(
                { status: "rejected", mintedUpokt: "0", detail: checked.error.code, ...about },
                gatewayKey,
              );
        }),
    };
    const pass = (now: number) =>
      Effect.runPromise(
        claimPass({
          key: node,
          relays,
          claims: claimStore,
          session: SESSION,
          gateways: new Map([[gatewayKey.address, gateway]]),
          metrics: makeNodeMetrics(),
          log: createLogger({ app: "node", level: "error" }),
          now: () => now,
          keepSettledMs: 10 * 86_400_000,
        }),
      );

    // Pass 1, just after the grace: the claim is built over the 3 answered relays; RATE_NOT_SET.
    await pass(sessionEnd + SESSION.graceMs + 500);
    expect(claimStore.all()[0]).toMatchObject({ status: "built", relayCount: 3 });
    // The relay admitted during the grace finishes now (an ordinary long generation).
    await Effect.runPromise(answer(0, sessionEnd + SESSION.graceMs + 2_000));
    expect(relays.leaves(sessionId, gatewayKey.address)).toHaveLength(4);
    // Pass 2: the stored 3-relay root is claimed and proven from those three relays.
    await pass(sessionEnd + SESSION.graceMs + 60_000);
    expect(outcomes).toEqual(["proven"]);
    expect(claimStore.all()[0]).toMatchObject({ status: "proven", mintedUpokt: "9000", relayCount: 3 });
    await close();
  });
});
