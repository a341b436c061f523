import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { bytesToHex, sha256 } from "../encoding/index.js";
import { addressFromPublicKey, addressMatchesPublicKey } from "./address.js";
import { generateKeyPair } from "./key-pair.js";
import { PUBLIC_KEY_CACHE_SIZE, preparedPublicKey, publicKeyCacheSize } from "./public-key-cache.js";
import { wasmBackend } from "./secp256k1-backend.js";
import {
  signCanonical,
  signDigest,
  verifyCanonical,
  verifyDigest,
  verifyDigestPrepared,
} from "./signature.js";

describe("preparedPublicKey", () => {
  it("derives bytes, point and address once per key and returns the cached entry after", () => {
    const pair = generateKeyPair();
    const first = preparedPublicKey(pair.publicKeyHex);
    expect(first).not.toBeNull();
    expect(preparedPublicKey(pair.publicKeyHex)).toBe(first);
    expect(bytesToHex(first!.compressed)).toBe(pair.publicKeyHex);
    expect(first!.address).toBe(pair.address);
    expect(first!.address).toBe(addressFromPublicKey(pair.publicKeyHex));
    expect(bytesToHex(first!.point!)).toBe(bytesToHex(wasmBackend.publicKey(pair.privateKey, false)!));
  });

  it("gives the same verdicts as verification without the cache, cold and warm", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 64 }), fc.boolean(), (message, tamper) => {
        const pair = generateKeyPair();
        const digest = sha256(message);
        const signature = signDigest(digest, pair.privateKey);
        if (tamper) signature[5] = (signature[5] ?? 0) ^ 0x40;
        const uncached = verifyDigest(digest, wasmBackend.publicKey(pair.privateKey, true)!, signature);
        const cold = verifyDigestPrepared(digest, preparedPublicKey(pair.publicKeyHex)!, signature);
        const warm = verifyDigestPrepared(digest, preparedPublicKey(pair.publicKeyHex)!, signature);
        expect(uncached).toBe(!tamper);
        expect(cold).toBe(uncached);
        expect(warm).toBe(uncached);
      }),
      { numRuns: 50 },
    );
  });

  it("refuses malformed strings without caching them, and keeps off-curve keys unverifiable", () => {
    const before = publicKeyCacheSize();
    for (const junk of ["", "02", `04${"ab".repeat(32)}`, `02${"zz".repeat(32)}`, `02${"ab".repeat(33)}`]) {
      expect(preparedPublicKey(junk)).toBeNull();
    }
    expect(preparedPublicKey(42 as unknown as string)).toBeNull();
    expect(publicKeyCacheSize()).toBe(before);

    // x = 0 is not the x coordinate of any point of secp256k1.
    const offCurve = `02${"00".repeat(32)}`;
    const prepared = preparedPublicKey(offCurve);
    expect(prepared?.point).toBeNull();
    // The address is a function of the bytes alone, as it always was; the signature cannot verify.
    expect(addressMatchesPublicKey(addressFromPublicKey(offCurve), offCurve)).toBe(true);
    const signer = generateKeyPair();
    expect(verifyCanonical({ a: 1 }, offCurve, signCanonical({ a: 1 }, signer.privateKey))).toBe(false);
  });

  it("holds at most PUBLIC_KEY_CACHE_SIZE keys, dropping the oldest first", () => {
    const keyOf = (i: number) => `03${i.toString(16).padStart(64, "0")}`;
    const first = preparedPublicKey(keyOf(0));
    for (let i = 1; i <= PUBLIC_KEY_CACHE_SIZE; i++) preparedPublicKey(keyOf(i));
    expect(publicKeyCacheSize()).toBe(PUBLIC_KEY_CACHE_SIZE);
    // Key 0 was the oldest: it was dropped, so asking again derives a fresh entry.
    const again = preparedPublicKey(keyOf(0));
    expect(again).not.toBe(first);
    expect(again).toEqual(first);
    expect(publicKeyCacheSize()).toBe(PUBLIC_KEY_CACHE_SIZE);
    // The newest key is still there.
    expect(preparedPublicKey(keyOf(PUBLIC_KEY_CACHE_SIZE))).toBe(
      preparedPublicKey(keyOf(PUBLIC_KEY_CACHE_SIZE)),
    );
  });
});
