import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { buildClaimTree, claimRoot, proofLeafIndex } from "../claims/index.js";
import { generateKeyPair } from "../crypto/index.js";
import { bytesToHex, sha256 } from "../encoding/index.js";
import { signValidated } from "../relay/signing-key.js";
import {
  ClaimAck,
  createClaimAck,
  generateProofSeed,
  UnsignedClaimAck,
  verifyClaimAck,
} from "./claim-ack.js";
import { createProofAck, ProofAck, verifyProofAck } from "./proof-ack.js";

const gateway = generateKeyPair();
const otherGateway = generateKeyPair();
const node = generateKeyPair();
const sessionId = "ab".repeat(32);
const root = claimRoot(
  buildClaimTree(Array.from({ length: 7 }, (_, i) => ({ hash: sha256(`relay-${i}`), computeUnits: 750 }))),
);
const hex32 = fc.uint8Array({ minLength: 32, maxLength: 32 }).map(bytesToHex);
const claimRoots = fc
  .record({ root: hex32, relays: fc.integer({ min: 1, max: 0xffff_ffff }) })
  .map((r) => ({ ...r, computeUnits: "0" }));
const subject = { nodeAddress: node.address, sessionId, root, issuedAt: 1_700_000_000_000 };
const expect_ = { gatewayAddress: gateway.address, nodeAddress: node.address, sessionId, root };
const claimAck = (proofSeed = generateProofSeed()) =>
  createClaimAck({ status: "accepted", proofSeed, ...subject }, gateway);
const copy = <T>(value: T): T => JSON.parse(JSON.stringify(value));

describe("ClaimAck", () => {
  it("draws fresh 32-byte seeds", () => {
    const a = generateProofSeed();
    expect(a).toMatch(/^[0-9a-f]{64}$/);
    expect(generateProofSeed()).not.toBe(a);
  });

  it("is signed by the gateway, and derives leafIndex from the seed and the root, as proofLeafIndex does", () => {
    fc.assert(
      fc.property(
        hex32,
        claimRoots,
        fc.constantFrom("accepted" as const, "duplicate" as const),
        (seed, r, status) => {
          const ack = createClaimAck({ ...subject, status, proofSeed: seed, root: r }, gateway);
          expect(ack).toMatchObject({
            v: 1,
            gateway: { address: gateway.address, publicKey: gateway.publicKeyHex },
            status,
            proofSeed: seed,
            leafIndex: proofLeafIndex(seed, r),
          });
          expect(ack.leafIndex).toBeLessThan(r.relays);
          expect(verifyClaimAck(copy(ack), { ...expect_, root: r })).toEqual({ ok: true, value: ack });
        },
      ),
      { numRuns: 50 },
    );
  });

  it("refuses an ack whose leafIndex is not the seed's, even signed by the gateway", () => {
    const ack = claimAck();
    // The gateway itself cannot pick the leaf: an index it chose, signed with its own key, is refused.
    const { signature: _, ...unsigned } = ack;
    const picked = signValidated(
      UnsignedClaimAck,
      { ...unsigned, leafIndex: (ack.leafIndex + 1) % root.relays },
      gateway,
      "test",
    ).envelope;
    expect(verifyClaimAck(picked, expect_)).toMatchObject({
      ok: false,
      error: { code: "MALFORMED_ENVELOPE", param: "leafIndex" },
    });
    // Changed after signing, it fails on the signature first.
    const edited = { ...ack, leafIndex: (ack.leafIndex + 1) % root.relays };
    expect(verifyClaimAck(edited, expect_)).toMatchObject({
      ok: false,
      error: { code: "INVALID_SIGNATURE" },
    });
  });

  it("refuses a forged seed, another gateway's receipt, and a receipt for another node, session or root", () => {
    const ack = claimAck();
    const code = (input: unknown, expected = expect_) => {
      const checked = verifyClaimAck(input, expected);
      return checked.ok ? "ok" : `${checked.error.code} ${checked.error.param ?? ""}`.trim();
    };
    expect(code(copy(ack))).toBe("ok");
    // A seed changed on the way (a plain-HTTP link), its leaf index recomputed to match.
    const seed = generateProofSeed();
    expect(code({ ...ack, proofSeed: seed, leafIndex: proofLeafIndex(seed, root) })).toBe(
      "INVALID_SIGNATURE signature",
    );
    // A receipt signed by a gateway other than the one asked.
    const foreign = createClaimAck({ status: "accepted", proofSeed: seed, ...subject }, otherGateway);
    expect(code(foreign)).toBe("ADDRESS_MISMATCH gateway.address");
    // One gateway's key with another's address.
    expect(code({ ...foreign, gateway: { ...foreign.gateway, address: gateway.address } })).toBe(
      "ADDRESS_MISMATCH gateway.address",
    );
    expect(code(ack, { ...expect_, nodeAddress: otherGateway.address })).toBe("ADDRESS_MISMATCH nodeAddress");
    expect(code(ack, { ...expect_, sessionId: "cd".repeat(32) })).toBe("MALFORMED_ENVELOPE sessionId");
    expect(code(ack, { ...expect_, root: { ...root, relays: root.relays + 1 } })).toBe(
      "MALFORMED_ENVELOPE root",
    );
  });

  it("refuses a malformed seed when creating and when verifying", () => {
    expect(() => claimAck("AB".repeat(32))).toThrow(TypeError);
    expect(() => claimAck("ab".repeat(16))).toThrow(TypeError);
    const ack = claimAck();
    expect(verifyClaimAck({ ...ack, proofSeed: "ab".repeat(16) }, expect_).ok).toBe(false);
    expect(verifyClaimAck({ ...ack, status: "stored" }, expect_).ok).toBe(false);
  });

  it("never throws on arbitrary input, nor on a malformed root", () => {
    fc.assert(
      fc.property(fc.anything(), (input) => {
        expect(verifyClaimAck(input, expect_).ok).toBe(false);
        expect(ClaimAck.safeParse(input).success).toBe(false);
      }),
      { numRuns: 500 },
    );
    expect(verifyClaimAck(claimAck(), { ...expect_, root: { ...root, root: "zz" } }).ok).toBe(false);
  });
});

describe("ProofAck", () => {
  const proofAck = (status: "proven" | "rejected", mintedUpokt: string, detail?: string) =>
    createProofAck({ status, mintedUpokt, detail, ...subject }, gateway);

  it("carries the minted amount as a decimal string, signed by the gateway", () => {
    const ack = proofAck("proven", "300000000");
    expect(verifyProofAck(copy(ack), expect_)).toEqual({ ok: true, value: ack });
    expect(ack).not.toHaveProperty("detail");
    expect(ProofAck.safeParse({ ...ack, mintedUpokt: 300_000_000 }).success).toBe(false);
    expect(ProofAck.safeParse({ ...ack, mintedUpokt: "007" }).success).toBe(false);
  });

  it("mints nothing on a rejected proof", () => {
    const ack = proofAck("rejected", "0", "bad path");
    expect(verifyProofAck(ack, expect_).ok).toBe(true);
    expect(() => proofAck("rejected", "3000")).toThrow(TypeError);
    expect(ProofAck.safeParse({ ...ack, mintedUpokt: "3000" }).success).toBe(false);
  });

  it("refuses a forged mint, a rejection turned into a proof, and another gateway's receipt", () => {
    const ack = proofAck("proven", "300000000");
    const code = (input: unknown) => {
      const checked = verifyProofAck(input, expect_);
      return checked.ok ? "ok" : checked.error.code;
    };
    expect(code({ ...ack, mintedUpokt: "900000000" })).toBe("INVALID_SIGNATURE");
    const rejected = proofAck("rejected", "0", "bad path");
    const { detail: _, ...withoutDetail } = rejected;
    expect(code({ ...withoutDetail, status: "proven", mintedUpokt: "1" })).toBe("INVALID_SIGNATURE");
    expect(code(createProofAck({ status: "proven", mintedUpokt: "1", ...subject }, otherGateway))).toBe(
      "ADDRESS_MISMATCH",
    );
  });

  it("never throws on arbitrary input", () => {
    fc.assert(
      fc.property(fc.anything(), (input) => {
        expect(verifyProofAck(input, expect_).ok).toBe(false);
      }),
      { numRuns: 300 },
    );
  });
});
