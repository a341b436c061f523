import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { bytesToHex } from "../encoding/index.js";
import { generateKeyPair, keyPairFromPrivateKey } from "./key-pair.js";
import {
  generatePrivateKey,
  isValidPrivateKeyHex,
  privateKeyFromHex,
  publicKeyFromPrivateKey,
  publicKeyHexFromPrivateKey,
} from "./private-key.js";

// The secp256k1 group order n.
const ORDER_HEX = "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141";
const ONE_HEX = `${"00".repeat(31)}01`;
const GENERATOR_COMPRESSED = "0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798";

describe("generatePrivateKey", () => {
  it("draws distinct valid 32-byte keys", () => {
    const keys = Array.from({ length: 20 }, () => bytesToHex(generatePrivateKey()));
    expect(new Set(keys).size).toBe(20);
    for (const key of keys) expect(isValidPrivateKeyHex(key)).toBe(true);
  });
});

describe("privateKeyFromHex", () => {
  it("reads 64 hex digits, with or without 0x, in either case", () => {
    expect(bytesToHex(privateKeyFromHex(ONE_HEX))).toBe(ONE_HEX);
    expect(bytesToHex(privateKeyFromHex(`0x${ONE_HEX}`))).toBe(ONE_HEX);
    expect(bytesToHex(privateKeyFromHex("AB".repeat(32)))).toBe("ab".repeat(32));
  });

  it.each([
    ["zero", "00".repeat(32), /curve order/],
    ["the group order", ORDER_HEX, /curve order/],
    ["all ones", "ff".repeat(32), /curve order/],
    ["too short", "01", /64 hex digits/],
    ["too long", `${ONE_HEX}00`, /64 hex digits/],
    ["not hex", "zz".repeat(32), /not a hex string/],
  ])("refuses %s with a clear message that does not echo the key", (_name, hex, message) => {
    expect(() => privateKeyFromHex(hex)).toThrow(message);
    expect(isValidPrivateKeyHex(hex)).toBe(false);
    try {
      privateKeyFromHex(hex);
    } catch (error) {
      if (hex.length > 4) expect(String(error)).not.toContain(hex);
    }
  });

  it("accepts the largest valid scalar n - 1", () => {
    const nMinusOne = `${ORDER_HEX.slice(0, -2)}40`;
    expect(isValidPrivateKeyHex(nMinusOne)).toBe(true);
    expect(privateKeyFromHex(nMinusOne)).toHaveLength(32);
  });
});

describe("publicKeyFromPrivateKey", () => {
  it("gives the generator point for key 1", () => {
    expect(bytesToHex(publicKeyFromPrivateKey(privateKeyFromHex(ONE_HEX)))).toBe(GENERATOR_COMPRESSED);
    expect(publicKeyHexFromPrivateKey(privateKeyFromHex(ONE_HEX))).toBe(GENERATOR_COMPRESSED);
  });

  it("gives 33 compressed bytes for any key", () => {
    fc.assert(
      fc.property(fc.constant(null), () => {
        const publicKey = publicKeyFromPrivateKey(generatePrivateKey());
        expect(publicKey).toHaveLength(33);
        expect([2, 3]).toContain(publicKey[0]);
      }),
      { numRuns: 50 },
    );
  });

  it("throws on an invalid scalar", () => {
    expect(() => publicKeyFromPrivateKey(new Uint8Array(32))).toThrow(TypeError);
    expect(() => publicKeyFromPrivateKey(new Uint8Array(31).fill(1))).toThrow(TypeError);
  });
});

describe("KeyPair", () => {
  it("derives the public key and address once", () => {
    const pair = keyPairFromPrivateKey(privateKeyFromHex(ONE_HEX));
    expect(pair.publicKeyHex).toBe(GENERATOR_COMPRESSED);
    expect(pair.address).toBe("pokt1w508d6qejxtdg4y5r3zarvary0c5xw7k8mgwnq");
    expect(generateKeyPair().address).toMatch(/^pokt1[02-9ac-hj-np-z]{38}$/);
  });
});
