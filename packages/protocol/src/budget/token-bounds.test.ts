import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { tokensAtLeast, tokensAtMost, utf8Length } from "./token-bounds.js";

// The definitions the counters are written against: white-space separated words as a regular
// expression finds them, and the length of what `TextEncoder` writes.
const wordsByRegExp = (text: string) => text.match(/\S+/g)?.length ?? 0;
const bytesByEncoder = (text: string) => new TextEncoder().encode(text).length;

const units = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(..."abcXYZ019.,;\"'{}") },
  {
    weight: 4,
    arbitrary: fc.constantFrom(
      " ",
      "\t",
      "\n",
      "\v",
      "\f",
      "\r",
      "\u00a0",
      "\u1680",
      "\u2000",
      "\u200a",
      "\u200b",
      "\u2028",
      "\u2029",
      "\u202f",
      "\u205f",
      "\u3000",
      "\ufeff",
      "\u0085",
      "\u180e",
    ),
  },
  { weight: 2, arbitrary: fc.constantFrom("é", "ß", "Ω", "й", "東", "京", "🦙", "👍") },
  { weight: 1, arbitrary: fc.constantFrom("\ud800", "\udfff", "\udbff\udc00") },
  { weight: 2, arbitrary: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)) },
);

describe("token bounds", () => {
  it("count words as /\\S+/g does, every kind of white space included", () => {
    fc.assert(
      fc.property(fc.string({ unit: units, maxLength: 80 }), (text) => {
        expect(tokensAtLeast(text)).toBe(wordsByRegExp(text));
      }),
      { numRuns: 5_000 },
    );
    expect(tokensAtLeast("héllo  big world")).toBe(3);
    expect(tokensAtLeast(" \u3000\ufeff ")).toBe(0);
  });

  it("measure UTF-8 as TextEncoder writes it, lone surrogates as U+FFFD", () => {
    fc.assert(
      fc.property(fc.string({ unit: units, maxLength: 80 }), (text) => {
        expect(utf8Length(text)).toBe(bytesByEncoder(text));
        expect(tokensAtMost(text)).toBe(bytesByEncoder(text) + 1);
      }),
      { numRuns: 5_000 },
    );
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 40 }), (text) => {
        expect(utf8Length(text)).toBe(bytesByEncoder(text));
      }),
      { numRuns: 2_000 },
    );
    expect(utf8Length("héllo")).toBe(6);
    expect(utf8Length("\ud83e\udd99\ud800x")).toBe(8);
  });
});
