import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { buildClaimTree, claimRoot, proofLeafIndex } from "../claims/index.js";
import { bytesToHex, sha256 } from "../encoding/index.js";
import { ClaimAck, createClaimAck, generateProofSeed, verifyClaimAck } from "./claim-ack.js";
import { ProofAck } from "./proof-ack.js";

const root = claimRoot(
  buildClaimTree(Array.from({ length: 7 }, (_, i) => ({ hash: sha256(`relay-${i}`), computeUnits: 750 }))),
);
const hex32 = fc.uint8Array({ minLength: 32, maxLength: 32 }).map(bytesToHex);
const claimRoots = fc
  .record({ root: hex32, relays: fc.integer({ min: 1, max: 0xffff_ffff }) })
  .map((r) => ({ ...r, computeUnits: "0" }));

describe("ClaimAck", () => {
  it("draws fresh 32-byte seeds", () => {
    const a = generateProofSeed();
    expect(a).toMatch(/^[0-9a-f]{64}$/);
    expect(generateProofSeed()).not.toBe(a);
  });

  it("derives leafIndex from the seed and the root, as proofLeafIndex does", () => {
    fc.assert(
      fc.property(
        hex32,
        claimRoots,
        fc.constantFrom("accepted" as const, "duplicate" as const),
        (seed, r, status) => {
          const ack = createClaimAck(status, seed, r);
          expect(ack).toEqual({ status, proofSeed: seed, leafIndex: proofLeafIndex(seed, r) });
          expect(ack.leafIndex).toBeLessThan(r.relays);
          expect(verifyClaimAck(JSON.parse(JSON.stringify(ack)), r)).toEqual({ ok: true, value: ack });
        },
      ),
    );
  });

  it("refuses an ack whose leafIndex is not the seed's", () => {
    const ack = createClaimAck("accepted", generateProofSeed(), root);
    const picked = { ...ack, leafIndex: (ack.leafIndex + 1) % root.relays };
    const checked = verifyClaimAck(picked, root);
    expect(!checked.ok && checked.error).toMatchObject({ code: "MALFORMED_ENVELOPE", param: "leafIndex" });
  });

  it("refuses a malformed seed when creating and when verifying", () => {
    expect(() => createClaimAck("accepted", "AB".repeat(32), root)).toThrow(TypeError);
    expect(() => createClaimAck("accepted", "ab".repeat(16), root)).toThrow(TypeError);
    const ack = createClaimAck("accepted", generateProofSeed(), root);
    expect(verifyClaimAck({ ...ack, proofSeed: "ab".repeat(16) }, root).ok).toBe(false);
    expect(verifyClaimAck({ ...ack, status: "stored" }, root).ok).toBe(false);
  });

  it("never throws on arbitrary input, nor on a malformed root", () => {
    fc.assert(
      fc.property(fc.anything(), (input) => {
        expect(verifyClaimAck(input, root).ok).toBe(false);
        expect(ClaimAck.safeParse(input).success).toBe(false);
      }),
      { numRuns: 500 },
    );
    const ack = createClaimAck("accepted", generateProofSeed(), root);
    expect(verifyClaimAck(ack, { ...root, root: "zz" }).ok).toBe(false);
  });
});

describe("ProofAck", () => {
  it("carries the minted amount as a decimal string", () => {
    expect(ProofAck.parse({ status: "proven", mintedUpokt: "300000000" }).mintedUpokt).toBe("300000000");
    expect(ProofAck.safeParse({ status: "proven", mintedUpokt: 300_000_000 }).success).toBe(false);
    expect(ProofAck.safeParse({ status: "proven", mintedUpokt: "007" }).success).toBe(false);
  });

  it("mints nothing on a rejected proof", () => {
    expect(ProofAck.safeParse({ status: "rejected", mintedUpokt: "0", detail: "bad path" }).success).toBe(
      true,
    );
    expect(ProofAck.safeParse({ status: "rejected", mintedUpokt: "3000" }).success).toBe(false);
  });

  it("never throws on arbitrary input", () => {
    fc.assert(fc.property(fc.anything(), (input) => void ProofAck.safeParse(input)));
  });
});
