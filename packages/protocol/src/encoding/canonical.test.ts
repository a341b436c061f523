import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { canonicalBytes, canonicalJson, canonicalJsonWithEncoded, isCanonicalJson } from "./canonical.js";
import { bytesToHex, canonicalHash, hexToBytes, isHex, sha256Hex } from "./hash.js";
import { nodeCrypto } from "./node-builtins.js";

/** Rebuilds every object in a JSON value with its keys in a shuffled order. */
function reorderKeys(value: unknown, rand: () => number): unknown {
  if (Array.isArray(value)) return value.map((v) => reorderKeys(v, rand));
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>);
    for (let i = entries.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [entries[i], entries[j]] = [entries[j]!, entries[i]!];
    }
    // fromEntries defines own properties, so a "__proto__" key stays a key (assignment would set the prototype).
    return Object.fromEntries(entries.map(([k, v]) => [k, reorderKeys(v, rand)]));
  }
  return value;
}

const jsonValue = fc.jsonValue({ noUnicodeString: false });

describe("canonicalJson", () => {
  it("sorts keys and drops white space", () => {
    expect(canonicalJson({ b: 1, a: { d: [1, "x", null], c: true } })).toBe(
      '{"a":{"c":true,"d":[1,"x",null]},"b":1}',
    );
  });

  it("is stable under any reordering of keys", () => {
    fc.assert(
      fc.property(jsonValue, fc.integer(), (value, seed) => {
        let s = seed >>> 0;
        const rand = () => {
          s = (s * 1664525 + 1013904223) >>> 0;
          return s / 2 ** 32;
        };
        expect(canonicalJson(reorderKeys(value, rand))).toBe(canonicalJson(value));
        expect(bytesToHex(canonicalHash(reorderKeys(value, rand)))).toBe(bytesToHex(canonicalHash(value)));
      }),
    );
  });

  it("round-trips through JSON.parse to an equal value", () => {
    fc.assert(
      fc.property(jsonValue, (value) => {
        // -0 is written as 0 by JSON, as in every JSON encoder.
        expect(JSON.parse(canonicalJson(value))).toEqual(JSON.parse(JSON.stringify(value)));
      }),
    );
  });

  it('keeps a "__proto__" key that JSON.parse made an own property', () => {
    const value = JSON.parse('{"b":{"__proto__":0},"a":1}') as unknown;
    expect(canonicalJson(value)).toBe('{"a":1,"b":{"__proto__":0}}');
  });

  it("omits undefined properties the way JSON.stringify does", () => {
    expect(canonicalJson({ a: undefined, b: 2 })).toBe('{"b":2}');
  });

  it.each([
    ["NaN", { a: Number.NaN }],
    ["Infinity", [Number.POSITIVE_INFINITY]],
    ["bigint", { a: 1n }],
    ["undefined in an array", [undefined]],
    ["a Date", { d: new Date(0) }],
    ["a function", { f: () => 1 }],
  ])("refuses %s", (_name, value) => {
    expect(() => canonicalJson(value)).toThrow(TypeError);
  });

  it("is what isCanonicalJson says: it encodes exactly the values isCanonicalJson accepts", () => {
    const anything = fc.anything({
      withBigInt: true,
      withBoxedValues: true,
      withDate: true,
      withMap: true,
      withNullPrototype: true,
      withObjectString: true,
      withSet: true,
      withSparseArray: true,
      withTypedArray: true,
    });
    const encodes = (value: unknown) => {
      try {
        canonicalJson(value);
        return true;
      } catch {
        return false;
      }
    };
    // Doubles include NaN and ±Infinity, which the other generators leave out.
    const doubles = fc.oneof(fc.double(), fc.array(fc.double()), fc.dictionary(fc.string(), fc.double()));
    fc.assert(
      fc.property(fc.oneof(anything, jsonValue, doubles), (value) => {
        expect(isCanonicalJson(value)).toBe(encodes(value));
      }),
      { numRuns: 2_000 },
    );
    let deep: unknown = 1;
    for (let i = 0; i < 100_000; i++) deep = [deep];
    expect([isCanonicalJson(deep), encodes(deep)]).toEqual([false, false]);
    expect([isCanonicalJson(undefined), isCanonicalJson({ a: undefined })]).toEqual([false, true]);
    for (const refused of [
      { a: Number.NaN },
      [Number.POSITIVE_INFINITY],
      { a: 1n },
      [undefined],
      new Date(0),
    ])
      expect(isCanonicalJson(refused)).toBe(false);
  });

  it("refuses a value nested deeper than the stack goes with a TypeError, as any value it cannot encode", () => {
    const depth = 200_000;
    const deep: unknown = JSON.parse(`${"[".repeat(depth)}${"]".repeat(depth)}`);
    const deepObject: unknown = JSON.parse(`${'{"a":'.repeat(depth)}1${"}".repeat(depth)}`);
    for (const value of [deep, deepObject, { ok: 1, deep }]) {
      expect(() => canonicalJson(value)).toThrow(
        new TypeError("canonicalJson: nested too deep or too large to encode"),
      );
      expect(() => canonicalBytes(value)).toThrow(TypeError);
      expect(() => canonicalHash(value)).toThrow(TypeError);
      expect(() => canonicalJsonWithEncoded({ deep: value, b: 1 }, "b", "1")).toThrow(TypeError);
      expect(isCanonicalJson(value)).toBe(false);
    }
  });

  it("encodes UTF-8", () => {
    expect(Array.from(canonicalBytes("é"))).toEqual([0x22, 0xc3, 0xa9, 0x22]);
  });
});

describe("hashing and hex", () => {
  it("matches the SHA-256 test vectors", () => {
    expect(sha256Hex("abc")).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    expect(sha256Hex("")).toBe("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  });

  it("round-trips hex", () => {
    fc.assert(
      fc.property(fc.uint8Array(), (bytes) => {
        expect(hexToBytes(bytesToHex(bytes))).toEqual(bytes);
        expect(isHex(bytesToHex(bytes), bytes.length)).toBe(true);
      }),
    );
  });

  it("rejects what is not hex", () => {
    expect(isHex("0")).toBe(false);
    expect(isHex("zz")).toBe(false);
    expect(isHex("00", 2)).toBe(false);
  });
});

/**
 * The encoding written the plain way, as the reference the fast writers are held to: keys by the
 * default sort, every string and number through JSON.stringify.
 */
function reference(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(reference).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const record = value as Record<string, unknown>;
    const keys = Object.keys(record)
      .sort()
      .filter((key) => record[key] !== undefined);
    return `{${keys.map((key) => `${JSON.stringify(key)}:${reference(record[key])}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

const sha256OfText = (text: string) => nodeCrypto!.createHash("sha256").update(text, "utf8").digest("hex");

/** Strings of every kind: ASCII, escapes, DEL, multi-byte UTF-8, surrogate pairs and lone surrogates. */
const anyString = fc.oneof(
  fc.string(),
  fc.string({ unit: "binary" }),
  fc.string({
    unit: fc.constantFrom(
      "\u0000",
      "\u001f",
      '"',
      "\\",
      "\u007f",
      "\u0080",
      "é",
      "中",
      "😀",
      "\ud800",
      "\udfff",
      "a",
    ),
  }),
);
const wideJson = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: "small" },
    anyString,
    fc.double({ noNaN: true, noDefaultInfinity: true }),
    fc.integer(),
    fc.boolean(),
    fc.constant(null),
    fc.array(tie("value"), { maxLength: 5 }),
    // Up to 24 keys: both the in-place sort (16 or fewer) and the array sort.
    fc.dictionary(anyString, tie("value"), { maxKeys: 24 }),
  ),
})).value;

describe("the fast writers (string and bytes)", () => {
  it("write what the plain encoding writes, and hash its UTF-8 bytes", () => {
    fc.assert(
      fc.property(wideJson, (value) => {
        const text = reference(value);
        expect(canonicalJson(value)).toBe(text);
        expect(canonicalBytes(value)).toEqual(new Uint8Array(Buffer.from(text, "utf8")));
        expect(bytesToHex(canonicalHash(value))).toBe(sha256OfText(text));
      }),
      { numRuns: 500 },
    );
  });

  it("sort keys by UTF-16 code unit, integer-like keys too, in small and large objects", () => {
    const small = { b: 1, "10": 2, "9": 3, é: 4, "😀": 5, "\uffff": 6, A: 7 };
    expect(canonicalJson(small)).toBe(reference(small));
    const large = Object.fromEntries(
      Array.from({ length: 40 }, (_, i) => [String.fromCharCode(0x7a - i), i]),
    );
    expect(canonicalJson(large)).toBe(reference(large));
    expect(bytesToHex(canonicalHash(large))).toBe(sha256OfText(reference(large)));
  });

  it("hash values larger than the scratch buffer, and smaller ones after them", () => {
    const big = { text: "x".repeat(3 << 20), more: ["é".repeat(100_000)] };
    expect(bytesToHex(canonicalHash(big))).toBe(sha256OfText(reference(big)));
    expect(canonicalBytes(big)).toHaveLength(Buffer.byteLength(reference(big), "utf8"));
    expect(bytesToHex(canonicalHash({ a: 1 }))).toBe(sha256OfText('{"a":1}'));
    // Multi-byte text longer than the room first asked for: encoded in several steps.
    for (const wide of [
      { t: "中".repeat(40_000) },
      { t: `${"😀".repeat(30_000)}\n`, u: "é".repeat(70_000) },
    ]) {
      expect(bytesToHex(canonicalHash(wide))).toBe(sha256OfText(reference(wide)));
      expect(canonicalBytes(wide)).toEqual(new Uint8Array(Buffer.from(reference(wide), "utf8")));
    }
  });

  it("hand out bytes the next encoding does not change", () => {
    const first = canonicalBytes({ a: "first" });
    canonicalBytes({ a: "second, and longer" });
    expect(Buffer.from(first).toString("utf8")).toBe('{"a":"first"}');
  });

  it("encode a value whose getter encodes another value meanwhile", () => {
    const inner = { z: "inner", a: [1, 2] };
    const outer: Record<string, unknown> = { b: "outer" };
    Object.defineProperty(outer, "a", {
      enumerable: true,
      get: () => bytesToHex(canonicalHash(inner)),
    });
    const expected = `{"a":"${sha256OfText(reference(inner))}","b":"outer"}`;
    expect(bytesToHex(canonicalHash(outer))).toBe(sha256OfText(expected));
    expect(bytesToHex(canonicalHash(inner))).toBe(sha256OfText(reference(inner)));
  });

  it("refuse what canonicalJson refuses, with its message", () => {
    const bad = { a: [1, { b: Number.NaN }] };
    expect(() => canonicalHash(bad)).toThrow("canonicalJson: non-finite number at $.a[1].b");
    expect(() => canonicalBytes({ d: new Date(0) })).toThrow("canonicalJson: $.d is not a plain object");
    // The writer is usable after a refusal.
    expect(bytesToHex(canonicalHash({ a: 1 }))).toBe(sha256OfText('{"a":1}'));
  });
});
