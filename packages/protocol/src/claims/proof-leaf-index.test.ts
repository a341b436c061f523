import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { bytesToHex, sha256 } from "../encoding/index.js";
import { proofLeafIndex } from "./proof-leaf-index.js";

const hex32 = fc.uint8Array({ minLength: 32, maxLength: 32 }).map(bytesToHex);

describe("proofLeafIndex", () => {
  it("is sha256(seed ‖ root) mod relays, always in [0, relays)", () => {
    fc.assert(
      fc.property(hex32, hex32, fc.integer({ min: 1, max: 0xffff_ffff }), (seed, root, relays) => {
        const index = proofLeafIndex(seed, { root, relays });
        expect(Number.isInteger(index) && index >= 0 && index < relays).toBe(true);
        const digest = sha256(Buffer.from(seed + root, "hex"));
        expect(index).toBe(Number(BigInt(`0x${bytesToHex(digest)}`) % BigInt(relays)));
      }),
    );
  });

  it("changes with the seed and spreads over the leaves", () => {
    const root = "ab".repeat(32);
    const hits = new Array<number>(8).fill(0);
    for (let i = 0; i < 8000; i++) {
      const index = proofLeafIndex(bytesToHex(sha256(`seed-${i}`)), { root, relays: 8 });
      hits[index] = (hits[index] ?? 0) + 1;
    }
    for (const h of hits) expect(h).toBeGreaterThan(850); // expected 1000 each
  });

  it("refuses short seeds, bad roots and empty claims", () => {
    expect(() => proofLeafIndex("ab", { root: "ab".repeat(32), relays: 1 })).toThrow(TypeError);
    expect(() => proofLeafIndex("ab".repeat(32), { root: "ab", relays: 1 })).toThrow(TypeError);
    expect(() => proofLeafIndex("ab".repeat(32), { root: "ab".repeat(32), relays: 0 })).toThrow(RangeError);
  });
});
