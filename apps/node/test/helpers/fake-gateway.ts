import type { AddressInfo } from "node:net";
import {
  type CodedFailure,
  contextFromRequest,
  makeGatewayClient,
  makeGatewayNodeRouter,
} from "@pocket-ai/link";
import {
  type ClaimRoot,
  createClaimAck,
  createProofAck,
  type ErrorCode,
  generateKeyPair,
  generateProofSeed,
  type KeyPair,
  type NodeAnnouncement,
  type ProofAck,
  proofLeafIndex,
  type SessionParams,
  SignedNodeAnnouncement,
  verifyClaimSubmission,
  verifyNodeAnnouncement,
  verifyProofSubmission,
} from "@pocket-ai/protocol";
import { createHTTPServer } from "@trpc/server/adapters/standalone";
import { Effect, Runtime } from "effect";

/**
 * A gateway's node-facing API, as small as the protocol allows: it verifies announcements, claims
 * and proofs with the protocol's own functions and remembers what it accepted. Used to test the
 * node's registration and claim loops without the whole gateway.
 */
export async function startFakeGateway(
  session: SessionParams,
  options: {
    refuseClaimsFirst?: number;
    /** Coded refusals its first claim submissions get, one each, in turn (then it checks them). */
    claimRefusals?: CodedFailure[];
    /** Coded refusals its first proofs get, one each, in turn. */
    proofRefusals?: CodedFailure[];
    key?: KeyPair;
    /** The candidate lists its registration answers carry (default: the announcing node alone). */
    registry?: (a: NodeAnnouncement) => Record<string, { address: string; registeredAt: number }[]>;
    nodesPerSession?: number;
    /**
     * Answers as a gateway older than the announcement's `gatewayAddress`: one that carries it is
     * refused as that version's closed schema refused it (`MALFORMED_ENVELOPE`, zod's "Unrecognized
     * key"), and the gateway an announcement names is not checked.
     */
    olderThanGatewayField?: boolean;
  } = {},
) {
  const key: KeyPair = options.key ?? generateKeyPair();
  /** The key its receipts are signed with: another key than its own forges them (a man in the middle). */
  const receipts = { key };
  const announcements: NodeAnnouncement[] = [];
  /** The announcements it refused, by code. */
  const refusedAnnouncements: string[] = [];
  const claims = new Map<string, { root: ClaimRoot; seed: string; leafIndex: number; proven: boolean }>();
  let refusals = options.refuseClaimsFirst ?? 0;
  const claimRefusals = [...(options.claimRefusals ?? [])];
  const proofRefusals = [...(options.proofRefusals ?? [])];
  /** The claim submissions and proofs it received, refused or not. */
  const received = { claims: 0, proofs: 0 };
  const refuse = (error: CodedFailure) => Effect.fail(error);
  /** An announcement refused as a gateway refuses it: an error whose message is the detail. */
  const refuseAnnouncement = (code: ErrorCode, detail: string) => {
    refusedAnnouncements.push(code);
    return Effect.fail(Object.assign(new Error(detail), { code, detail }));
  };
  const router = makeGatewayNodeRouter({
    announce: (input) =>
      Effect.suspend(() => {
        if (options.olderThanGatewayField) {
          const earlier = SignedNodeAnnouncement.omit({ gatewayAddress: true }).strict().safeParse(input);
          const issue = earlier.error?.issues[0];
          if (issue !== undefined && issue.code === "unrecognized_keys")
            return refuseAnnouncement("MALFORMED_ENVELOPE", `node announcement: ${issue.message}`);
        }
        const verified = verifyNodeAnnouncement(
          input,
          options.olderThanGatewayField ? {} : { gatewayAddress: key.address },
        );
        if (!verified.ok)
          return refuseAnnouncement(verified.error.code, verified.error.detail ?? verified.error.message);
        announcements.push(verified.value.announcement);
        const a = verified.value.announcement;
        return Effect.succeed({
          accepted: true as const,
          gatewayAddress: key.address,
          session,
          nodesPerSession: options.nodesPerSession ?? 24,
          registry:
            options.registry?.(a) ??
            Object.fromEntries(
              a.services.map((s) => [s.serviceId, [{ address: a.node.address, registeredAt: 1 }]]),
            ),
          nextAnnounceMs: 60_000,
        });
      }),
    submitClaim: (input) =>
      Effect.suspend(() => {
        if (refusals > 0) {
          refusals -= 1;
          return Effect.die(new Error("temporarily unavailable"));
        }
        received.claims += 1;
        const coded = claimRefusals.shift();
        if (coded !== undefined) return refuse(coded);
        const verified = verifyClaimSubmission(input, { gatewayAddress: key.address });
        if (!verified.ok) return refuse(verified.error);
        const s = verified.value.submission;
        const id = `${s.header.sessionId}/${s.node.address}`;
        const seed = claims.get(id)?.seed ?? generateProofSeed();
        claims.set(id, { root: s.root, seed, leafIndex: proofLeafIndex(seed, s.root), proven: false });
        return Effect.succeed(
          createClaimAck(
            {
              status: "accepted",
              proofSeed: seed,
              nodeAddress: s.node.address,
              sessionId: s.header.sessionId,
              root: s.root,
              issuedAt: Date.now(),
            },
            receipts.key,
          ),
        );
      }),
    submitProof: (input) =>
      Effect.suspend((): Effect.Effect<ProofAck, CodedFailure> => {
        received.proofs += 1;
        const coded = proofRefusals.shift();
        if (coded !== undefined) return refuse(coded);
        const raw = input as { sessionId?: string; node?: { address?: string } };
        const claim = claims.get(`${raw.sessionId}/${raw.node?.address}`);
        if (claim === undefined) return refuse({ code: "INVALID_PROOF", message: "no such claim" });
        const about = {
          nodeAddress: raw.node?.address ?? "",
          sessionId: raw.sessionId ?? "",
          root: claim.root,
          issuedAt: Date.now(),
        };
        const verified = verifyProofSubmission(input, {
          gatewayAddress: key.address,
          claim: claim.root,
          leafIndex: claim.leafIndex,
        });
        if (!verified.ok)
          return Effect.succeed(
            createProofAck(
              { status: "rejected", mintedUpokt: "0", detail: verified.error.code, ...about },
              receipts.key,
            ),
          );
        claim.proven = true;
        return Effect.succeed(
          createProofAck(
            { status: "proven", mintedUpokt: String(BigInt(claim.root.computeUnits) * 4n), ...about },
            receipts.key,
          ),
        );
      }),
  });
  // At `/trpc`, where a real gateway serves it.
  const server = createHTTPServer({
    router,
    createContext: contextFromRequest(Runtime.defaultRuntime),
    basePath: "/trpc/",
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    key,
    url,
    link: { url: `${url}/trpc`, address: key.address },
    announcements,
    refusedAnnouncements,
    /** Sends an announcement to this gateway as a node would (over HTTP): what another party could replay. */
    sendAnnouncement: (message: unknown) =>
      makeGatewayClient(`${url}/trpc`).nodes.announce.mutate(message as SignedNodeAnnouncement),
    claims,
    received,
    receipts,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
