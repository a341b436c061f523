import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { buildClaimTree, claimRoot, proofLeafIndex, proveClaimLeaf } from "../claims/index.js";
import { generateKeyPair } from "../crypto/index.js";
import { bytesToHex, canonicalHash, canonicalJson, sha256 } from "../encoding/index.js";
import {
  createProofSubmission,
  type ProofSubmission,
  type ProofSubmissionFields,
  verifyProofSubmission,
} from "./proof-submission.js";

const node = generateKeyPair();
const other = generateKeyPair();
const gateway = generateKeyPair();
const otherGateway = generateKeyPair();
const sessionId = "ab".repeat(32);
const tree = buildClaimTree(
  Array.from({ length: 11 }, (_, i) => ({ hash: sha256(`relay-${i}`), computeUnits: 4600 + i })),
);
const root = claimRoot(tree);
const ack = { leafIndex: proofLeafIndex("5e".repeat(32), root) };
const fields: ProofSubmissionFields = {
  gatewayAddress: gateway.address,
  sessionId,
  proof: proveClaimLeaf(tree, ack.leafIndex),
  issuedAt: 1_700_000_000_000,
};
const submission = createProofSubmission(fields, node);
type Mutable = Record<string, unknown> & ProofSubmission;
const copy = (): Mutable => JSON.parse(JSON.stringify(submission));
const expectation = { gatewayAddress: gateway.address, claim: root, leafIndex: ack.leafIndex };

describe("createProofSubmission", () => {
  it("signs a proof submission that verifies together with its proof", () => {
    const checked = verifyProofSubmission(copy(), expectation);
    expect(checked.ok).toBe(true);
    if (!checked.ok) return;
    expect(checked.value.submission).toEqual(submission);
    const { signature: _s, ...unsigned } = submission;
    expect(checked.value.digest).toBe(bytesToHex(canonicalHash(unsigned)));
    expect(createProofSubmission(fields, node.privateKey)).toEqual(submission);
  });

  it("throws a TypeError naming the field for a malformed proof", () => {
    expect(() => createProofSubmission({ ...fields, sessionId: "xyz" }, node)).toThrow(/sessionId/);
    expect(() =>
      createProofSubmission({ ...fields, proof: { ...fields.proof, leafIndex: -1 } }, node),
    ).toThrow(/proof\.leafIndex/);
  });
});

describe("verifyProofSubmission", () => {
  type Tamper = [name: string, change: (p: Mutable) => void, code: string];
  const tampers: Tamper[] = [
    [
      "sessionId",
      (p) => {
        p.sessionId = "cd".repeat(32);
      },
      "INVALID_SIGNATURE",
    ],
    [
      "proof.leafIndex",
      (p) => {
        p.proof.leafIndex += 1;
      },
      "INVALID_SIGNATURE",
    ],
    [
      "proof.leaf.hash",
      (p) => {
        p.proof.leaf.hash = "00".repeat(32);
      },
      "INVALID_SIGNATURE",
    ],
    [
      "proof.leaf.computeUnits",
      (p) => {
        p.proof.leaf.computeUnits += 1;
      },
      "INVALID_SIGNATURE",
    ],
    [
      "proof.path[0].digest",
      (p) => {
        p.proof.path[0]!.digest = "11".repeat(32);
      },
      "INVALID_SIGNATURE",
    ],
    ["proof.path dropped step", (p) => void p.proof.path.pop(), "INVALID_SIGNATURE"],
    [
      "gatewayAddress",
      (p) => {
        p.gatewayAddress = otherGateway.address;
      },
      "INVALID_SIGNATURE",
    ],
    [
      "issuedAt",
      (p) => {
        p.issuedAt += 1;
      },
      "INVALID_SIGNATURE",
    ],
    [
      "node swapped",
      (p) => {
        p.node = { address: other.address, publicKey: other.publicKeyHex };
      },
      "INVALID_SIGNATURE",
    ],
    [
      "node.address",
      (p) => {
        p.node.address = other.address;
      },
      "ADDRESS_MISMATCH",
    ],
    [
      "v",
      (p) => {
        p.v = 2 as 1;
      },
      "MALFORMED_ENVELOPE",
    ],
    [
      "extra field",
      (p) => {
        p.extra = 1;
      },
      "MALFORMED_ENVELOPE",
    ],
    [
      "proof side",
      (p) => {
        p.proof.path[0]!.side = "up" as "left";
      },
      "MALFORMED_ENVELOPE",
    ],
  ];

  it.each(tampers)("refuses a change of %s", (_name, change, code) => {
    const tampered = copy();
    change(tampered);
    const checked = verifyProofSubmission(tampered, expectation);
    expect(checked.ok).toBe(false);
    if (!checked.ok) expect(checked.error.code).toBe(code);
  });

  it("refuses a proof for another gateway, of another leaf, or against another root", () => {
    const elsewhere = verifyProofSubmission(submission, { gatewayAddress: otherGateway.address });
    expect(!elsewhere.ok && elsewhere.error.param).toBe("gatewayAddress");
    expect(!elsewhere.ok && elsewhere.error.message).toContain(
      "Submit it to the gateway its gatewayAddress names",
    );
    const otherLeaf = (ack.leafIndex + 1) % root.relays;
    const chosen = createProofSubmission({ ...fields, proof: proveClaimLeaf(tree, otherLeaf) }, node);
    expect(verifyProofSubmission(chosen).ok).toBe(true); // signature only
    const wrongLeaf = verifyProofSubmission(chosen, expectation);
    expect(!wrongLeaf.ok && wrongLeaf.error).toMatchObject({
      code: "INVALID_PROOF",
      param: "proof.leafIndex",
    });
    const inflated = verifyProofSubmission(submission, {
      ...expectation,
      claim: { ...root, computeUnits: String(BigInt(root.computeUnits) + 1n) },
    });
    expect(!inflated.ok && inflated.error.code).toBe("INVALID_PROOF");
  });

  it("proves the leaf the seed selects, for any seed and claim size", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }),
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        (n, seed) => {
          const t = buildClaimTree(
            Array.from({ length: n }, (_, i) => ({ hash: sha256(`r${i}`), computeUnits: i })),
          );
          const r = claimRoot(t);
          const a = { leafIndex: proofLeafIndex(bytesToHex(seed), r) };
          const p = createProofSubmission({ ...fields, proof: proveClaimLeaf(t, a.leafIndex) }, node);
          expect(verifyProofSubmission(p, { claim: r, leafIndex: a.leafIndex }).ok).toBe(true);
        },
      ),
      { numRuns: 50 },
    );
  });

  it("never throws on arbitrary input", () => {
    fc.assert(
      fc.property(fc.anything(), (input) => {
        expect(verifyProofSubmission(input, expectation).ok).toBe(false);
      }),
      { numRuns: 500 },
    );
  });

  it("never throws when any field is replaced by an arbitrary value", () => {
    fc.assert(
      fc.property(fc.constantFrom(...Object.keys(submission)), fc.anything(), (key, value) => {
        const tampered = { ...copy(), [key]: value };
        const checked = verifyProofSubmission(tampered, expectation);
        if (checked.ok) expect(canonicalJson(tampered)).toBe(canonicalJson(submission));
      }),
      { numRuns: 500 },
    );
  });
});
