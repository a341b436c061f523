import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { bytesToHex, canonicalHash, canonicalJson, hexToBytes, sha256 } from "../encoding/index.js";
import { generateKeyPair } from "./key-pair.js";
import { publicKeyFromPrivateKey } from "./private-key.js";
import { signCanonical, signDigest, verifyCanonical, verifyDigest } from "./signature.js";

const ORDER = BigInt("0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141");

const signer = generateKeyPair();
const signerPublicKey = publicKeyFromPrivateKey(signer.privateKey);

/** Returns a copy of `bytes` with one byte changed (XOR with a non-zero mask). */
function withByteChanged(bytes: Uint8Array, index: number, mask: number): Uint8Array {
  const copy = Uint8Array.from(bytes);
  copy[index % copy.length] = (copy[index % copy.length] ?? 0) ^ mask;
  return copy;
}

/** Rebuilds a JSON value with every object's keys in a shuffled order. */
function reorderKeys(value: unknown, seed: number): unknown {
  if (Array.isArray(value)) return value.map((item, i) => reorderKeys(item, seed + i));
  if (value === null || typeof value !== "object") return value;
  const entries = Object.entries(value);
  const shuffled = entries
    .map((entry, i) => ({ entry, rank: Math.sin(seed * 7919 + i * 104729) }))
    .sort((a, b) => a.rank - b.rank)
    .map(({ entry }) => entry);
  const out: Record<string, unknown> = {};
  for (const [k, v] of shuffled)
    Object.defineProperty(out, k, {
      value: reorderKeys(v, seed + 1),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  return out;
}

describe("signDigest / verifyDigest", () => {
  it("round-trips and is deterministic and low-S", () => {
    const digest = sha256("pocket ai");
    const signature = signDigest(digest, signer.privateKey);
    expect(signature).toHaveLength(64);
    expect(bytesToHex(signDigest(digest, signer.privateKey))).toBe(bytesToHex(signature));
    expect(verifyDigest(digest, signerPublicKey, signature)).toBe(true);
    const s = BigInt(`0x${bytesToHex(signature.subarray(32))}`);
    expect(s <= ORDER / 2n).toBe(true);
  });

  it("refuses the high-S twin of a valid signature", () => {
    const digest = sha256("malleability");
    const signature = signDigest(digest, signer.privateKey);
    const s = BigInt(`0x${bytesToHex(signature.subarray(32))}`);
    const twin = Uint8Array.from(signature);
    twin.set(hexToBytes((ORDER - s).toString(16).padStart(64, "0")), 32);
    expect(verifyDigest(digest, signerPublicKey, twin)).toBe(false);
  });

  it("fails after any single-byte change of the signed bytes, the signature or the key", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 1, maxLength: 300 }),
        fc.nat(),
        fc.integer({ min: 1, max: 255 }),
        (message, index, mask) => {
          const signature = signDigest(sha256(message), signer.privateKey);
          expect(verifyDigest(sha256(message), signerPublicKey, signature)).toBe(true);
          const changedMessage = withByteChanged(message, index, mask);
          expect(verifyDigest(sha256(changedMessage), signerPublicKey, signature)).toBe(false);
          expect(
            verifyDigest(sha256(message), signerPublicKey, withByteChanged(signature, index, mask)),
          ).toBe(false);
          expect(
            verifyDigest(sha256(message), withByteChanged(signerPublicKey, index, mask), signature),
          ).toBe(false);
        },
      ),
      { numRuns: 300 },
    );
  });

  it("refuses another signer's signature", () => {
    const other = generateKeyPair();
    const digest = sha256("x");
    expect(verifyDigest(digest, signerPublicKey, signDigest(digest, other.privateKey))).toBe(false);
  });

  it("never throws on malformed inputs", () => {
    const digest = sha256("x");
    const signature = signDigest(digest, signer.privateKey);
    const junk = fc.oneof(fc.anything(), fc.uint8Array({ maxLength: 70 }));
    fc.assert(
      fc.property(junk, junk, junk, (a, b, c) => {
        expect(verifyDigest(a as Uint8Array, signerPublicKey, signature)).toBe(false);
        expect(verifyDigest(digest, b as Uint8Array, signature)).toBe(false);
        expect(verifyDigest(digest, signerPublicKey, c as Uint8Array)).toBe(false);
      }),
    );
    expect(verifyDigest(digest, signerPublicKey, new Uint8Array(64).fill(0xff))).toBe(false);
    expect(verifyDigest(digest, signerPublicKey, new Uint8Array(64))).toBe(false);
    expect(verifyDigest(digest, new Uint8Array(33).fill(2), signature)).toBe(false);
  });

  it("throws on a bad digest or key when signing (the signer's own data)", () => {
    expect(() => signDigest(new Uint8Array(31), signer.privateKey)).toThrow(TypeError);
    expect(() => signDigest(sha256("x"), new Uint8Array(32))).toThrow(TypeError);
  });
});

describe("signCanonical / verifyCanonical", () => {
  it("signs SHA-256 of canonical bytes", () => {
    const value = { b: [1, "two", null], a: { z: true, y: 0.5 } };
    const signatureHex = signCanonical(value, signer.privateKey);
    expect(signatureHex).toMatch(/^[0-9a-f]{128}$/);
    expect(verifyDigest(canonicalHash(value), signerPublicKey, hexToBytes(signatureHex))).toBe(true);
  });

  it("is stable under any reordering of object keys", () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.integer(), (value, seed) => {
        const reordered = reorderKeys(value, seed);
        const signatureHex = signCanonical(value, signer.privateKey);
        expect(signCanonical(reordered, signer.privateKey)).toBe(signatureHex);
        expect(verifyCanonical(reordered, signer.publicKeyHex, signatureHex)).toBe(true);
      }),
      { numRuns: 200 },
    );
  });

  it("fails when the value or the signature changes", () => {
    fc.assert(
      fc.property(
        fc.jsonValue(),
        fc.jsonValue(),
        fc.nat(),
        fc.integer({ min: 1, max: 255 }),
        (a, b, index, mask) => {
          const signatureHex = signCanonical(a, signer.privateKey);
          const changed = bytesToHex(withByteChanged(hexToBytes(signatureHex), index, mask));
          expect(verifyCanonical(a, signer.publicKeyHex, changed)).toBe(false);
          if (canonicalJson(a) !== canonicalJson(b)) {
            expect(verifyCanonical(b, signer.publicKeyHex, signatureHex)).toBe(false);
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it("never throws on malformed inputs", () => {
    const signatureHex = signCanonical({ a: 1 }, signer.privateKey);
    fc.assert(
      fc.property(fc.anything(), fc.anything(), fc.anything(), (value, publicKeyHex, sigHex) => {
        expect(verifyCanonical(value, publicKeyHex as string, sigHex as string)).toBe(false);
        expect(typeof verifyCanonical(value, signer.publicKeyHex, signatureHex)).toBe("boolean");
      }),
    );
    expect(verifyCanonical({ a: Number.NaN }, signer.publicKeyHex, signatureHex)).toBe(false);
    expect(verifyCanonical({ a: 1n }, signer.publicKeyHex, signatureHex)).toBe(false);
  });
});
