import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { PEER_TEXT_MAX, peerText } from "./peer-text.js";

describe("peerText", () => {
  it("keeps a text within the bound as it is", () => {
    expect(peerText("operator share cap reached")).toBe("operator share cap reached");
    const full = "x".repeat(PEER_TEXT_MAX);
    expect(peerText(full)).toBe(full);
  });

  it("cuts a longer text to its beginning and says how much was left out, within the bound", () => {
    const cut = peerText("y".repeat(1_000_000));
    expect(cut.length).toBeLessThanOrEqual(PEER_TEXT_MAX);
    expect(cut.length).toBeGreaterThan(PEER_TEXT_MAX - 16);
    expect(cut).toMatch(/^y+…\[\+\d+\]$/);
    const kept = cut.indexOf("…");
    expect(cut.endsWith(`[+${1_000_000 - kept}]`)).toBe(true);
  });

  it("never splits a surrogate pair", () => {
    const cut = peerText("🦙".repeat(500));
    expect(cut.length).toBeLessThanOrEqual(PEER_TEXT_MAX);
    expect(cut.slice(0, cut.indexOf("…"))).toBe("🦙".repeat(cut.indexOf("…") / 2));
  });

  it("is a bounded prefix of any text, for any bound from 32", () => {
    fc.assert(
      fc.property(
        fc.string({ unit: "binary", maxLength: 2_000 }),
        fc.integer({ min: 32, max: 1_024 }),
        (text, max) => {
          const cut = peerText(text, max);
          expect(cut.length).toBeLessThanOrEqual(max);
          if (text.length <= max) expect(cut).toBe(text);
          else expect(text.startsWith(cut.slice(0, cut.lastIndexOf("…")))).toBe(true);
        },
      ),
    );
  });
});
