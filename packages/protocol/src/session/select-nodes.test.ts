import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { bytesToHex, sha256 } from "../encoding/index.js";
import { isNodeInSession, selectSessionNodes, sessionNodeDraw } from "./select-nodes.js";

const sessionId = bytesToHex(sha256("session"));
const nodes = (n: number) => Array.from({ length: n }, (_, i) => ({ address: `pokt1node${i}` }));

describe("selectSessionNodes", () => {
  it("picks the lowest draws, lowest first", () => {
    const candidates = nodes(50);
    const picked = selectSessionNodes(sessionId, candidates, 5);
    const draws = candidates.map((c) => sessionNodeDraw(sessionId, c.address)).sort();
    expect(picked.map((c) => sessionNodeDraw(sessionId, c.address))).toEqual(draws.slice(0, 5));
  });

  it("does not depend on candidate order and counts duplicates once", () => {
    fc.assert(
      fc.property(
        fc
          .uniqueArray(fc.string({ minLength: 1, maxLength: 12 }), { minLength: 0, maxLength: 40 })
          .chain((addrs) =>
            fc.tuple(
              fc.constant(addrs),
              fc.shuffledSubarray(addrs, { minLength: addrs.length, maxLength: addrs.length }),
              fc.nat({ max: 45 }),
            ),
          ),
        ([addrs, shuffled, count]) => {
          const a = selectSessionNodes(
            sessionId,
            addrs.map((address) => ({ address })),
            count,
          ).map((c) => c.address);
          const doubled = [...shuffled, ...shuffled].map((address) => ({ address }));
          const b = selectSessionNodes(sessionId, doubled, count).map((c) => c.address);
          expect(b).toEqual(a);
          expect(a.length).toBe(Math.min(count, addrs.length));
        },
      ),
    );
  });

  it("membership is recomputable by anyone from the session id and the candidates", () => {
    const candidates = nodes(30);
    const picked = new Set(selectSessionNodes(sessionId, candidates, 8).map((c) => c.address));
    for (const c of candidates) {
      expect(isNodeInSession(sessionId, [...candidates].reverse(), 8, c.address)).toBe(picked.has(c.address));
    }
    expect(isNodeInSession(sessionId, candidates, 8, "pokt1stranger")).toBe(false);
  });

  it("differs between sessions and rejects bad input", () => {
    const other = bytesToHex(sha256("other session"));
    const a = selectSessionNodes(sessionId, nodes(100), 10).map((c) => c.address);
    const b = selectSessionNodes(other, nodes(100), 10).map((c) => c.address);
    expect(a).not.toEqual(b);
    expect(() => selectSessionNodes("xyz", nodes(2), 1)).toThrow(TypeError);
    expect(() => selectSessionNodes(sessionId, nodes(2), -1)).toThrow(RangeError);
  });
});
