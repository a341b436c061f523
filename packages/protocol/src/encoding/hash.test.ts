import { bytesToHex as nobleBytesToHex } from "@noble/hashes/utils.js";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { canonicalJson, canonicalJsonWithEncoded } from "./canonical.js";
import {
  bytesToHex,
  canonicalHash,
  nobleSha256Parts,
  sha256,
  sha256Hex,
  sha256HexAfterCanonical,
  sha256Parts,
} from "./hash.js";
import { nodeCrypto } from "./node-builtins.js";

describe("sha256Parts", () => {
  it("uses node:crypto under Node", () => {
    expect(nodeCrypto).toBeDefined();
  });

  it("matches the portable implementation and one-shot hashing of the concatenation", () => {
    const part = fc.oneof(fc.uint8Array({ maxLength: 200 }), fc.string({ unit: "grapheme", maxLength: 80 }));
    fc.assert(
      fc.property(fc.array(part, { maxLength: 5 }), (parts) => {
        const joined = Buffer.concat(parts.map((p) => (typeof p === "string" ? Buffer.from(p, "utf8") : p)));
        const expected = nodeCrypto!.createHash("sha256").update(joined).digest("hex");
        expect(bytesToHex(sha256Parts(...parts))).toBe(expected);
        expect(bytesToHex(nobleSha256Parts(...parts))).toBe(expected);
      }),
      { numRuns: 300 },
    );
  });

  it("returns a plain Uint8Array and keeps the published vectors", () => {
    const digest = sha256("abc");
    expect(digest.constructor).toBe(Uint8Array);
    expect(digest).toHaveLength(32);
    expect(bytesToHex(digest)).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    expect(sha256Hex("")).toBe("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  });
});

describe("sha256HexAfterCanonical", () => {
  it("hashes 32 bytes given as hex, then the value's canonical JSON, as the portable implementation does", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.jsonValue(),
        fc.boolean(),
        (prefix, value, upper) => {
          const hex = nobleBytesToHex(prefix);
          const expected = nobleBytesToHex(nobleSha256Parts(prefix, canonicalJson(value)));
          expect(sha256HexAfterCanonical(upper ? hex.toUpperCase() : hex, value)).toBe(expected);
        },
      ),
      { numRuns: 300 },
    );
  });

  it("writes large values past the reused buffer, and the buffer serves the next call", () => {
    const prefix = "ab".repeat(32);
    const big = { text: "é".repeat(200_000), list: Array.from({ length: 5_000 }, (_, i) => ({ i })) };
    const expected = (value: unknown) =>
      nobleBytesToHex(nobleSha256Parts(new Uint8Array(32).fill(0xab), canonicalJson(value)));
    expect(sha256HexAfterCanonical(prefix, big)).toBe(expected(big));
    expect(sha256HexAfterCanonical(prefix, { a: 1 })).toBe(expected({ a: 1 }));
  });

  it("refuses a prefix that is not 64 hex digits, and a value canonical JSON cannot carry", () => {
    expect(() => sha256HexAfterCanonical(`${"0".repeat(62)}zz`, 1)).toThrow(TypeError);
    expect(() => sha256HexAfterCanonical("00", 1)).toThrow(TypeError);
    expect(() => sha256HexAfterCanonical("0".repeat(64), { a: Number.NaN })).toThrow(
      /non-finite number at \$\.a/,
    );
    // A refusal leaves the reused buffer usable.
    expect(sha256HexAfterCanonical("0".repeat(64), [1])).toBe(
      nobleBytesToHex(nobleSha256Parts(new Uint8Array(32), "[1]")),
    );
  });
});

describe("bytesToHex", () => {
  it("writes what the portable writer writes, for views into a larger buffer too", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 100 }), fc.nat(20), fc.nat(20), (bytes, start, cut) => {
        const view = bytes.subarray(Math.min(start, bytes.length), Math.max(0, bytes.length - cut));
        expect(bytesToHex(view)).toBe(nobleBytesToHex(view));
        expect(bytesToHex(view)).toBe(Buffer.from(view).toString("hex"));
      }),
    );
  });

  it("refuses what is not bytes, as the portable writer does", () => {
    expect(() => bytesToHex("00" as unknown as Uint8Array)).toThrow();
  });
});

describe("canonicalJsonWithEncoded", () => {
  it("is canonicalJson of the record when the entry is given pre-encoded", () => {
    fc.assert(
      fc.property(
        fc.dictionary(fc.string(), fc.jsonValue()),
        fc.string(),
        fc.jsonValue(),
        (record, key, value) => {
          const whole = { ...record };
          Object.defineProperty(whole, key, { value, enumerable: true, writable: true, configurable: true });
          expect(canonicalJsonWithEncoded(whole, key, canonicalJson(value))).toBe(canonicalJson(whole));
        },
      ),
      { numRuns: 300 },
    );
  });

  it("refuses what canonicalJson refuses, with the same message", () => {
    const bad = { a: { b: [1, Number.NaN] }, data: 1 };
    expect(() => canonicalJson(bad)).toThrow("canonicalJson: non-finite number at $.a.b[1]");
    expect(() => canonicalJsonWithEncoded(bad, "data", "1")).toThrow(
      "canonicalJson: non-finite number at $.a.b[1]",
    );
  });

  it("hashes to canonicalHash", () => {
    const value = { seq: 3, data: { z: [1, 2], a: "x" }, chain: "00" };
    expect(bytesToHex(sha256Parts(canonicalJsonWithEncoded(value, "data", canonicalJson(value.data))))).toBe(
      bytesToHex(canonicalHash(value)),
    );
  });
});
