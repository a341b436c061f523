import { ripemd160 } from "@noble/hashes/legacy.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex, hexToBytes } from "@noble/hashes/utils.js";
import { bech32 } from "@scure/base";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  addressFromPublicKey,
  addressMatchesPublicKey,
  isValidAddress,
  PoktAddress,
  PublicKeyHex,
  SignatureHex,
} from "./address.js";
import { generateKeyPair } from "./key-pair.js";
import { generatePrivateKey, publicKeyFromPrivateKey } from "./private-key.js";

/** The address scheme written out again from the primitives, independently of address.ts. */
function referenceAddress(publicKey: Uint8Array): string {
  const hash160 = ripemd160(sha256(publicKey));
  return bech32.encode("pokt", bech32.toWords(hash160));
}

// Vectors computed outside this codebase (Python hashlib + a separate bech32 encoder). The hash160
// of the generator point, 751e76e8…3bd6, is the well-known one of private key 1.
const VECTORS = [
  {
    publicKey: "0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798",
    hash160: "751e76e8199196d454941c45d1b3a323f1433bd6",
    address: "pokt1w508d6qejxtdg4y5r3zarvary0c5xw7k8mgwnq",
  },
  {
    publicKey: "02c6047f9441ed7d6d3045406e95c07cd85c778e4b8cef3ca7abac09b95c709ee5",
    hash160: "06afd46bcdfd22ef94ac122aa11f241244a37ecc",
    address: "pokt1q6hag67dl53wl99vzg42z8eyzfz2xlkvd9eg25",
  },
];

describe("addressFromPublicKey", () => {
  it.each(VECTORS)("matches the fixed vector for $publicKey", ({ publicKey, hash160, address }) => {
    expect(addressFromPublicKey(publicKey)).toBe(address);
    expect(addressFromPublicKey(hexToBytes(publicKey))).toBe(address);
    const decoded = bech32.decode(address as `${string}1${string}`);
    expect(bytesToHex(bech32.fromWords(decoded.words))).toBe(hash160);
  });

  it("agrees with an independent computation for random keys", () => {
    fc.assert(
      fc.property(fc.constant(null), () => {
        const publicKey = publicKeyFromPrivateKey(generatePrivateKey());
        const address = addressFromPublicKey(publicKey);
        expect(address).toBe(referenceAddress(publicKey));
        expect(isValidAddress(address)).toBe(true);
      }),
      { numRuns: 100 },
    );
  });

  it("refuses inputs that are not compressed keys", () => {
    expect(() => addressFromPublicKey(new Uint8Array(33).fill(4))).toThrow(TypeError);
    expect(() => addressFromPublicKey(new Uint8Array(65))).toThrow(TypeError);
    expect(() => addressFromPublicKey("02")).toThrow(TypeError);
  });
});

describe("isValidAddress", () => {
  const good = VECTORS[0]!.address;

  it("refuses other prefixes, bad checksums, upper case and other lengths", () => {
    expect(isValidAddress(good)).toBe(true);
    expect(isValidAddress("cosmos1w508d6qejxtdg4y5r3zarvary0c5xw7k6ah60c")).toBe(false);
    expect(isValidAddress(`${good.slice(0, -1)}${good.endsWith("q") ? "p" : "q"}`)).toBe(false);
    expect(isValidAddress(good.toUpperCase())).toBe(false);
    expect(isValidAddress(bech32.encode("pokt", bech32.toWords(new Uint8Array(32))))).toBe(false);
    expect(isValidAddress("")).toBe(false);
  });

  it("never throws and refuses arbitrary values", () => {
    fc.assert(
      fc.property(fc.anything(), (value) => {
        expect(isValidAddress(value)).toBe(false);
      }),
    );
    fc.assert(
      fc.property(fc.string(), (value) => {
        expect(isValidAddress(`pokt1${value}`)).toBe(false);
      }),
    );
  });

  it("detects any single-character change", () => {
    fc.assert(
      fc.property(fc.nat(), fc.constantFrom(..."qpzry9x8gf2tvdw0s3jn54khce6mua7l"), (index, char) => {
        const position = 5 + (index % (good.length - 5));
        fc.pre(good[position] !== char);
        const changed = good.slice(0, position) + char + good.slice(position + 1);
        expect(isValidAddress(changed)).toBe(false);
      }),
    );
  });
});

describe("addressMatchesPublicKey and schemas", () => {
  it("matches only the key's own address and never throws", () => {
    const a = generateKeyPair();
    const b = generateKeyPair();
    expect(addressMatchesPublicKey(a.address, a.publicKeyHex)).toBe(true);
    expect(addressMatchesPublicKey(a.address, b.publicKeyHex)).toBe(false);
    expect(addressMatchesPublicKey(a.address, "nothex")).toBe(false);
  });

  it("validate shapes", () => {
    const pair = generateKeyPair();
    expect(PoktAddress.safeParse(pair.address).success).toBe(true);
    expect(PoktAddress.safeParse("pokt1xyz").success).toBe(false);
    expect(PublicKeyHex.safeParse(pair.publicKeyHex).success).toBe(true);
    expect(PublicKeyHex.safeParse(pair.publicKeyHex.toUpperCase()).success).toBe(false);
    expect(PublicKeyHex.safeParse(`04${"ab".repeat(32)}`).success).toBe(false);
    expect(SignatureHex.safeParse("ab".repeat(64)).success).toBe(true);
    expect(SignatureHex.safeParse("ab".repeat(63)).success).toBe(false);
  });
});
