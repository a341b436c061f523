import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { bytesToHex, hexToBytes, sha256 } from "../encoding/index.js";
import {
  loadNativeBackend,
  type Secp256k1Backend,
  secp256k1,
  secp256k1Implementation,
  wasmBackend,
} from "./secp256k1-backend.js";

// The `secp256k1` package ships prebuilt bindings for these platforms; elsewhere only the fallback
// is there and the comparisons below have nothing to compare.
const PREBUILT = ["linux-x64", "darwin-arm64", "win32-x64"].includes(`${process.platform}-${process.arch}`);
const native = loadNativeBackend();
const ORDER = BigInt("0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141");

const privateKeyArb = fc
  .uint8Array({ minLength: 32, maxLength: 32 })
  .filter((key) => wasmBackend.isPrivate(key));
const digestArb = fc.uint8Array({ minLength: 32, maxLength: 32 });

function highSTwin(signature: Uint8Array): Uint8Array {
  const s = BigInt(`0x${bytesToHex(signature.subarray(32))}`);
  const twin = Uint8Array.from(signature);
  twin.set(hexToBytes((ORDER - s).toString(16).padStart(64, "0")), 32);
  return twin;
}

describe("the secp256k1 implementation in use", () => {
  it.runIf(PREBUILT)("is the native binding on platforms with a prebuilt binary", () => {
    expect(native).not.toBeNull();
    expect(native?.name).toBe("native");
    expect(secp256k1Implementation()).toBe(process.env.POCKET_SECP256K1 === "wasm" ? "wasm" : "native");
  });

  it("signs the published RFC 6979 vector (key 1, SHA-256 of 'Satoshi Nakamoto') in both", () => {
    const key = hexToBytes(`${"00".repeat(31)}01`);
    const digest = sha256("Satoshi Nakamoto");
    const expected =
      "934b1ea10a4b3c1757e2b0c017d0b6143ce3c9a7e6a4a49860d7a6ab210ee3d8" +
      "2442ce9d2b916064108014783e923ec36b49743e2ffa1c4496f01a512aafd9e5";
    const backends: Secp256k1Backend[] = native === null ? [wasmBackend] : [wasmBackend, native];
    for (const backend of backends) expect(bytesToHex(backend.sign(digest, key))).toBe(expected);
    expect(bytesToHex(secp256k1.sign(digest, key))).toBe(expected);
  });
});

describe.runIf(native !== null)("native binding and WASM fallback", () => {
  const n = native as Secp256k1Backend;

  it("give byte-identical signatures, keys and points", () => {
    fc.assert(
      fc.property(privateKeyArb, digestArb, (key, digest) => {
        const signature = n.sign(digest, key);
        expect(bytesToHex(signature)).toBe(bytesToHex(wasmBackend.sign(digest, key)));
        const compressed = n.publicKey(key, true);
        expect(compressed).not.toBeNull();
        expect(bytesToHex(compressed as Uint8Array)).toBe(bytesToHex(wasmBackend.publicKey(key, true)!));
        expect(bytesToHex(n.publicKey(key, false)!)).toBe(bytesToHex(wasmBackend.publicKey(key, false)!));
        expect(bytesToHex(n.decompress(compressed as Uint8Array)!)).toBe(
          bytesToHex(wasmBackend.decompress(compressed as Uint8Array)!),
        );
      }),
      { numRuns: 200 },
    );
  });

  it("agree on every verification: valid, other digest, changed byte, high-S twin, either key form", () => {
    fc.assert(
      fc.property(privateKeyArb, digestArb, digestArb, fc.nat(63), (key, digest, other, index) => {
        const signature = wasmBackend.sign(digest, key);
        const compressed = wasmBackend.publicKey(key, true)!;
        const uncompressed = wasmBackend.publicKey(key, false)!;
        const changed = Uint8Array.from(signature);
        changed[index] = (changed[index] ?? 0) ^ 1;
        const cases: [Uint8Array, Uint8Array, Uint8Array][] = [
          [digest, compressed, signature],
          [digest, uncompressed, signature],
          [other, compressed, signature],
          [digest, compressed, changed],
          [digest, uncompressed, highSTwin(signature)],
        ];
        for (const [d, k, s] of cases) expect(n.verify(d, k, s)).toBe(wasmBackend.verify(d, k, s));
        expect(n.verify(digest, uncompressed, signature)).toBe(true);
        expect(n.verify(digest, compressed, highSTwin(signature))).toBe(false);
      }),
      { numRuns: 200 },
    );
  });

  it("agree on malformed keys and scalars", () => {
    const order = hexToBytes(ORDER.toString(16));
    for (const key of [new Uint8Array(32), order, new Uint8Array(32).fill(0xff)]) {
      expect(n.isPrivate(key)).toBe(false);
      expect(wasmBackend.isPrivate(key)).toBe(false);
      expect(n.publicKey(key, true)).toBeNull();
      expect(wasmBackend.publicKey(key, true)).toBeNull();
    }
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.constantFrom(2, 3), (x, prefix) => {
        const candidate = Uint8Array.of(prefix, ...x);
        const a = n.decompress(candidate);
        const b = wasmBackend.decompress(candidate);
        expect(a === null ? null : bytesToHex(a)).toBe(b === null ? null : bytesToHex(b));
      }),
      { numRuns: 300 },
    );
    const digest = sha256("x");
    const signature = wasmBackend.sign(digest, hexToBytes(`${"00".repeat(31)}07`));
    const offCurve = new Uint8Array(33).fill(2);
    expect(n.verify(digest, offCurve, signature)).toBe(false);
    expect(wasmBackend.verify(digest, offCurve, signature)).toBe(false);
    for (const junk of [new Uint8Array(64), new Uint8Array(64).fill(0xff)]) {
      const key = wasmBackend.publicKey(hexToBytes(`${"00".repeat(31)}07`), true)!;
      expect(n.verify(digest, key, junk)).toBe(false);
      expect(wasmBackend.verify(digest, key, junk)).toBe(false);
    }
  });
});
