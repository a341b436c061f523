import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { wtf8Decode, wtf8Encode } from "./wtf8.js";

describe("wtf8", () => {
  it("matches UTF-8 for well-formed strings", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary" }), (s) => {
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
