import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { buildClaimTree, claimRoot } from "../claims/index.js";
import { generateKeyPair } from "../crypto/index.js";
import { bytesToHex, canonicalHash, canonicalJson, sha256 } from "../encoding/index.js";
import { deriveSessionHeader } from "../session/index.js";
import {
  type ClaimSubmission,
  type ClaimSubmissionFields,
  createClaimSubmission,
  verifyClaimSubmission,
} from "./claim-submission.js";

const node = generateKeyPair();
const other = generateKeyPair();
const gateway = generateKeyPair();
const otherGateway = generateKeyPair();
const header = deriveSessionHeader(
  { mode: "time", genesisMs: 0, sessionLengthMs: 3_600_000, graceMs: 60_000 },
  generateKeyPair().address,
  "llama-2-13b",
  1_700_000_000_000,
);
const tree = buildClaimTree(
  Array.from({ length: 5 }, (_, i) => ({ hash: sha256(`relay-${i}`), computeUnits: 750 + i })),
);
const fields: ClaimSubmissionFields = {
  gatewayAddress: gateway.address,
  header,
  root: claimRoot(tree),
  issuedAt: header.sessionEnd + 5_000,
};
const claim = createClaimSubmission(fields, node);
type Mutable = Record<string, unknown> & ClaimSubmission;
const copy = (): Mutable => JSON.parse(JSON.stringify(claim));

describe("createClaimSubmission", () => {
  it("signs a claim that verifies, with its digest", () => {
    expect(claim).toMatchObject({ v: 1, node: { address: node.address, publicKey: node.publicKeyHex } });
    const checked = verifyClaimSubmission(copy(), { gatewayAddress: gateway.address });
    expect(checked.ok).toBe(true);
    if (!checked.ok) return;
    expect(checked.value.submission).toEqual(claim);
    const { signature: _s, ...unsigned } = claim;
    expect(checked.value.digest).toBe(bytesToHex(canonicalHash(unsigned)));
    expect(createClaimSubmission(fields, node.privateKey)).toEqual(claim);
  });

  it.each([
    ["gatewayAddress", { gatewayAddress: "pokt1nope" }],
    ["root.computeUnits", { root: { ...fields.root, computeUnits: "-1" } }],
    ["root.relays", { root: { ...fields.root, relays: 0 } }],
    ["header.sessionId", { header: { ...header, sessionId: "00" } }],
  ])("throws a TypeError naming %s", (path, change) => {
    expect(() => createClaimSubmission({ ...fields, ...change }, node)).toThrow(
      new RegExp(path.replaceAll(".", "\\.")),
    );
  });
});

describe("verifyClaimSubmission", () => {
  type Tamper = [name: string, change: (c: Mutable) => void, code: string];
  const tampers: Tamper[] = [
    [
      "root.root",
      (c) => {
        c.root.root = "cd".repeat(32);
      },
      "INVALID_SIGNATURE",
    ],
    [
      "root.relays",
      (c) => {
        c.root.relays += 1;
      },
      "INVALID_SIGNATURE",
    ],
    [
      "root.computeUnits",
      (c) => {
        c.root.computeUnits = "999999";
      },
      "INVALID_SIGNATURE",
    ],
    [
      "header.serviceId",
      (c) => {
        c.header.serviceId = "mistral-7b";
      },
      "INVALID_SIGNATURE",
    ],
    [
      "header.sessionNumber",
      (c) => {
        c.header.sessionNumber += 1;
      },
      "INVALID_SIGNATURE",
    ],
    [
      "header.sessionId",
      (c) => {
        c.header.sessionId = "ef".repeat(32);
      },
      "INVALID_SIGNATURE",
    ],
    [
      "gatewayAddress",
      (c) => {
        c.gatewayAddress = otherGateway.address;
      },
      "INVALID_SIGNATURE",
    ],
    [
      "issuedAt",
      (c) => {
        c.issuedAt += 1;
      },
      "INVALID_SIGNATURE",
    ],
    [
      "signature",
      (c) => {
        // Its last byte changed, whatever it was (a fixed value is the same one time in 256).
        c.signature = `${c.signature.slice(0, -2)}${c.signature.endsWith("00") ? "01" : "00"}`;
      },
      "INVALID_SIGNATURE",
    ],
    [
      "node swapped",
      (c) => {
        c.node = { address: other.address, publicKey: other.publicKeyHex };
      },
      "INVALID_SIGNATURE",
    ],
    [
      "node.address",
      (c) => {
        c.node.address = other.address;
      },
      "ADDRESS_MISMATCH",
    ],
    [
      "node.publicKey",
      (c) => {
        c.node.publicKey = other.publicKeyHex;
      },
      "ADDRESS_MISMATCH",
    ],
    [
      "v",
      (c) => {
        c.v = 2 as 1;
      },
      "MALFORMED_ENVELOPE",
    ],
    [
      "extra field",
      (c) => {
        c.extra = 1;
      },
      "MALFORMED_ENVELOPE",
    ],
    [
      "root extra field",
      (c) => {
        (c.root as Record<string, unknown>).extra = 1;
      },
      "MALFORMED_ENVELOPE",
    ],
    [
      "computeUnits as number",
      (c) => {
        (c.root as Record<string, unknown>).computeUnits = 3760;
      },
      "MALFORMED_ENVELOPE",
    ],
    [
      "computeUnits above u64",
      (c) => {
        c.root.computeUnits = "18446744073709551616";
      },
      "MALFORMED_ENVELOPE",
    ],
  ];

  it.each(tampers)("refuses a change of %s", (_name, change, code) => {
    const tampered = copy();
    change(tampered);
    const checked = verifyClaimSubmission(tampered);
    expect(checked.ok).toBe(false);
    if (!checked.ok) expect(checked.error.code).toBe(code);
  });

  it("refuses a claim addressed to another gateway", () => {
    const checked = verifyClaimSubmission(claim, { gatewayAddress: otherGateway.address });
    expect(checked.ok).toBe(false);
    if (!checked.ok)
      expect(checked.error).toMatchObject({
        code: "ADDRESS_MISMATCH",
        param: "gatewayAddress",
        message: expect.stringContaining("Submit it to the gateway its gatewayAddress names"),
      });
  });

  it("never throws on arbitrary input", () => {
    fc.assert(
      fc.property(fc.anything(), (input) => {
        expect(verifyClaimSubmission(input, { gatewayAddress: gateway.address }).ok).toBe(false);
      }),
      { numRuns: 500 },
    );
  });

  it("never throws when any field is replaced by an arbitrary value", () => {
    fc.assert(
      fc.property(fc.constantFrom(...Object.keys(claim)), fc.anything(), (key, value) => {
        const tampered = { ...copy(), [key]: value };
        const checked = verifyClaimSubmission(tampered);
        if (checked.ok) expect(canonicalJson(tampered)).toBe(canonicalJson(claim));
      }),
      { numRuns: 500 },
    );
  });
});
