import type { AddressInfo } from "node:net";
import {
  type ClaimRoot,
  createClaimAck,
  generateKeyPair,
  generateProofSeed,
  type KeyPair,
  type NodeAnnouncement,
  proofLeafIndex,
  type SessionParams,
  verifyClaimSubmission,
  verifyNodeAnnouncement,
  verifyProofSubmission,
} from "@pocket-ai/protocol";
import { initTRPC, TRPCError } from "@trpc/server";
import { createHTTPServer } from "@trpc/server/adapters/standalone";
import { z } from "zod";

/**
 * A gateway's node-facing API, as small as the protocol allows: it verifies announcements, claims
 * and proofs with the protocol's own functions and remembers what it accepted. Used to test the
 * node's registration and claim loops without the whole gateway.
 */
export async function startFakeGateway(
  session: SessionParams,
  options: { refuseClaimsFirst?: number; key?: KeyPair } = {},
) {
  const key: KeyPair = options.key ?? generateKeyPair();
  const announcements: NodeAnnouncement[] = [];
  const claims = new Map<string, { root: ClaimRoot; seed: string; leafIndex: number; proven: boolean }>();
  let refusals = options.refuseClaimsFirst ?? 0;
  const t = initTRPC.create();
  const refuse = (code: string, message: string) =>
    new TRPCError({
      code: "BAD_REQUEST",
      message,
      cause: Object.assign(new Error(code), { pocketCode: code }),
    });
  const router = t.router({
    nodes: t.router({
      announce: t.procedure.input(z.unknown()).mutation(({ input }) => {
        const verified = verifyNodeAnnouncement(input);
        if (!verified.ok) throw refuse(verified.error.code, verified.error.message);
        announcements.push(verified.value.announcement);
        const a = verified.value.announcement;
        return {
          accepted: true,
          gatewayAddress: key.address,
          session,
          nodesPerSession: 24,
          registry: Object.fromEntries(
            a.services.map((s) => [s.serviceId, [{ address: a.node.address, registeredAt: 1 }]]),
          ),
          nextAnnounceMs: 60_000,
        };
      }),
    }),
    settlement: t.router({
      submitClaim: t.procedure.input(z.unknown()).mutation(({ input }) => {
        if (refusals > 0) {
          refusals -= 1;
          throw new TRPCError({ code: "INTERNAL_SERVER_ERROR", message: "temporarily unavailable" });
        }
        const verified = verifyClaimSubmission(input, { gatewayAddress: key.address });
        if (!verified.ok) throw refuse(verified.error.code, verified.error.message);
        const s = verified.value.submission;
        const id = `${s.header.sessionId}/${s.node.address}`;
        const seed = claims.get(id)?.seed ?? generateProofSeed();
        claims.set(id, { root: s.root, seed, leafIndex: proofLeafIndex(seed, s.root), proven: false });
        return createClaimAck("accepted", seed, s.root);
      }),
      submitProof: t.procedure.input(z.unknown()).mutation(({ input }) => {
        const raw = input as { sessionId?: string; node?: { address?: string } };
        const claim = claims.get(`${raw.sessionId}/${raw.node?.address}`);
        if (claim === undefined) throw refuse("INVALID_PROOF", "no such claim");
        const verified = verifyProofSubmission(input, {
          gatewayAddress: key.address,
          claim: claim.root,
          leafIndex: claim.leafIndex,
        });
        if (!verified.ok) return { status: "rejected", mintedUpokt: "0", detail: verified.error.code };
        claim.proven = true;
        return { status: "proven", mintedUpokt: String(BigInt(claim.root.computeUnits) * 4n) };
      }),
    }),
  });
  const server = createHTTPServer({ router });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    key,
    url,
    link: { url, address: key.address },
    announcements,
    claims,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
