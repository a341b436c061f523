import { sha256 } from "@noble/hashes/sha2.js";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { createSha256Scratch, digestScratch } from "./fixed-sha256.js";

function fixedDigest(message: Uint8Array): Uint8Array {
  const scratch = createSha256Scratch(message.length);
  scratch.bytes.set(message, 0);
  const out = new Uint8Array(40);
  digestScratch(scratch, out, 5);
  return out.subarray(5, 37);
}

describe("fixed-length SHA-256", () => {
  it("matches the FIPS 180-4 test vector for 'abc'", () => {
    expect(Buffer.from(fixedDigest(new TextEncoder().encode("abc"))).toString("hex")).toBe(
      "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
    );
  });

  it("matches @noble/hashes for every length around the block boundaries", () => {
    for (let length = 0; length <= 200; length++) {
      const message = Uint8Array.from({ length }, (_, i) => (i * 31 + length) & 0xff);
      expect(fixedDigest(message)).toEqual(sha256(message));
    }
  });

  it("matches @noble/hashes on random 41- and 81-byte messages, reusing the scratch", () => {
    const leaf = createSha256Scratch(41);
    const node = createSha256Scratch(81);
    const out = new Uint8Array(32);
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 81, maxLength: 81 }), (bytes) => {
        node.bytes.set(bytes, 0);
        digestScratch(node, out, 0);
        expect(out).toEqual(sha256(bytes));
        leaf.bytes.set(bytes.subarray(0, 41), 0);
        digestScratch(leaf, out, 0);
        expect(out).toEqual(sha256(bytes.subarray(0, 41)));
      }),
    );
  });
});
