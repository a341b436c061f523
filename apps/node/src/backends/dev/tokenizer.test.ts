import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { loadCorpus } from "./corpus.js";
import { buildTokenizer, EOS_TEXT, pretokenize } from "./tokenizer.js";

const corpus = loadCorpus();
const tokenizer = buildTokenizer(corpus);
/**
 * Well-formed strings over all of Unicode, drawn evenly over the 1- to 4-byte UTF-8 ranges (built
 * from integers: fast-check's own full-Unicode string takes seconds to set up, enough to run into
 * the test timeout on a loaded machine).
 */
const anyCodePoints = fc
  .array(
    fc.oneof(
      fc.integer({ min: 0, max: 0x7f }),
      fc.integer({ min: 0x80, max: 0x7ff }),
      fc.integer({ min: 0x800, max: 0xd7ff }),
      fc.integer({ min: 0xe000, max: 0xffff }),
      fc.integer({ min: 0x10000, max: 0x10ffff }),
    ),
    { maxLength: 40 },
  )
  .map((codePoints) => String.fromCodePoint(...codePoints));
/** Any sequence of UTF-16 code units, unpaired surrogates included. */
const codeUnits = fc
  .array(fc.integer({ min: 0, max: 0xffff }), { maxLength: 64 })
  .map((units) => String.fromCharCode(...units));

describe("tokenizer", () => {
  it("round-trips any string losslessly", () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.string({ unit: "grapheme" }), anyCodePoints, codeUnits), (s) => {
        expect(tokenizer.decode(tokenizer.encode(s))).toBe(s);
      }),
      { numRuns: 500 },
    );
  });

  it("round-trips corpus-like text made of known words", () => {
    const words = [...new Set(pretokenize(corpus))].slice(0, 400);
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...words), { maxLength: 30 }), (pieces) => {
        const text = pieces.join("");
        expect(tokenizer.decode(tokenizer.encode(text))).toBe(text);
      }),
    );
  });

  it("gives common words one token each, with the leading space", () => {
    const ids = tokenizer.encode("The capital of France is Paris.");
    expect(ids.map((id) => tokenizer.tokenName(id))).toEqual([
      "The",
      " capital",
      " of",
      " France",
      " is",
      " Paris",
      ".",
    ]);
  });

  it("falls back to bytes for text the corpus never had", () => {
    const ids = tokenizer.encode("☃");
    expect(ids.map((id) => tokenizer.tokenName(id))).toEqual(["bytes:\\xe2", "bytes:\\x98", "bytes:\\x83"]);
    expect(tokenizer.decode(ids)).toBe("☃");
  });

  it("has stable ids: the same corpus always builds the same vocabulary", () => {
    const again = buildTokenizer(corpus);
    expect(again.vocabSize).toBe(tokenizer.vocabSize);
    const sample = "Once upon a time, a small robot read 42 books about the sea.";
    expect(again.encode(sample)).toEqual(tokenizer.encode(sample));
  });

  it("reserves id 0 for end-of-sequence, which decodes to nothing", () => {
    expect(tokenizer.eosToken).toBe(0);
    expect(tokenizer.tokenName(0)).toBe(EOS_TEXT);
    expect(tokenizer.decode([0])).toBe("");
    // A prompt that spells the marker is plain text, not the special token.
    expect(tokenizer.encode(EOS_TEXT)).not.toContain(0);
  });

  it("refuses unknown ids", () => {
    expect(() => tokenizer.decode([tokenizer.vocabSize])).toThrow(RangeError);
  });
});
