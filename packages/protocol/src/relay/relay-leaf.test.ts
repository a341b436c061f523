import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { bytesToHex, hexToBytes, sha256 } from "../encoding/index.js";
import { relayLeafHash } from "./relay-leaf.js";

const digest = fc.uint8Array({ minLength: 32, maxLength: 32 });

describe("relayLeafHash", () => {
  it("is SHA-256 of the domain tag, the request hash and the answer hash", () => {
    const request = "11".repeat(32);
    const answer = "22".repeat(32);
    const tag = new TextEncoder().encode("pocket-ai/relay-leaf/v1");
    const expected = sha256(new Uint8Array([...tag, ...hexToBytes(request), ...hexToBytes(answer)]));
    expect(bytesToHex(relayLeafHash(request, answer))).toBe(bytesToHex(expected));
    expect(bytesToHex(relayLeafHash(hexToBytes(request), answer.toUpperCase()))).toBe(bytesToHex(expected));
  });

  it("is 32 bytes, order-sensitive and injective in practice", () => {
    fc.assert(
      fc.property(digest, digest, (a, b) => {
        const leaf = relayLeafHash(a, b);
        expect(leaf).toHaveLength(32);
        if (bytesToHex(a) !== bytesToHex(b))
          expect(bytesToHex(relayLeafHash(b, a))).not.toBe(bytesToHex(leaf));
        expect(bytesToHex(leaf)).not.toBe(bytesToHex(sha256(new Uint8Array([...a, ...b]))));
      }),
    );
  });

  it("throws on inputs that are not 32-byte digests", () => {
    expect(() => relayLeafHash("11", "22".repeat(32))).toThrow(/requestHash/);
    expect(() => relayLeafHash("11".repeat(32), new Uint8Array(31))).toThrow(/responseHashOrFinalChain/);
  });
});
