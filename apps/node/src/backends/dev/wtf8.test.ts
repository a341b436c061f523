import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { wtf8Decode, wtf8Encode } from "./wtf8.js";

/**
 * Well-formed strings: any code point but a surrogate half, drawn evenly over the 1-, 2-, 3- and
 * 4-byte UTF-8 ranges. (Built from integers: fast-check's own full-Unicode string takes seconds to
 * set up, enough to run into the test timeout on a loaded machine.)
 */
const wellFormed = fc
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

describe("wtf8", () => {
  it("matches UTF-8 for well-formed strings", () => {
    fc.assert(
      fc.property(wellFormed, (s) => {
        expect(Buffer.from(wtf8Encode(s)).equals(Buffer.from(s, "utf8"))).toBe(true);
      }),
    );
  });

  it("keeps unpaired surrogates", () => {
    for (const s of ["\ud800", "a\udc00b", "\udbff\ud800", "x\ud83d"])
      expect(wtf8Decode(wtf8Encode(s)).text).toBe(s);
  });

  it("holds back an unfinished character when streaming", () => {
    const bytes = wtf8Encode("é");
    expect(wtf8Decode(bytes.subarray(0, 1), { stream: true })).toEqual({ text: "", pending: 1 });
    expect(wtf8Decode(bytes.subarray(0, 1)).text).toBe("\ufffd");
  });

  it("replaces malformed bytes instead of throwing", () => {
    expect(wtf8Decode(Uint8Array.of(0xff, 0x41, 0xc0, 0x80)).text).toBe("\ufffdA\ufffd\ufffd");
  });
});
