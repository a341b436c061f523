import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { DEFAULT_ENGINE_REFUSAL_POLICY, EngineRefusalLedger, refusalOutlier } from "./engine-refusals.js";

describe("engine refusal outliers", () => {
  it("marks a node that refuses far more than its peers, and not one that refuses like them", () => {
    const peers = [
      { seen: 100, refused: 5 },
      { seen: 80, refused: 3 },
    ];
    expect(refusalOutlier({ seen: 100, refused: 60 }, peers)).toMatch(/engine refused 60% of 100 relays/);
    expect(refusalOutlier({ seen: 100, refused: 8 }, peers)).toBeUndefined();
  });

  it("does not judge without enough samples, or without peers to compare with", () => {
    expect(refusalOutlier({ seen: 10, refused: 10 }, [{ seen: 100, refused: 0 }])).toBeUndefined();
    expect(refusalOutlier({ seen: 100, refused: 100 }, [])).toBeUndefined();
    expect(refusalOutlier({ seen: 100, refused: 100 }, [{ seen: 5, refused: 0 }])).toBeUndefined();
  });

  it("never marks a node whose share is at or below the peers' median", () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 20, max: 500 }), { minLength: 1, maxLength: 6 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (sizes, rate) => {
          const peers = sizes.map((seen) => ({ seen, refused: Math.round(seen * rate) }));
          const lowest = Math.min(...peers.map((p) => p.refused / p.seen));
          const node = { seen: 200, refused: Math.floor(200 * lowest) };
          expect(refusalOutlier(node, peers)).toBeUndefined();
        },
      ),
    );
  });

  it("counts per service and node, follows recent traffic and forgets on reset", () => {
    const ledger = new EngineRefusalLedger();
    for (let i = 0; i < 50; i++) {
      ledger.record("svc", "honest", i % 10 === 0);
      ledger.record("svc", "dodger", i % 2 === 0);
      ledger.record("other", "dodger", false);
    }
    expect(ledger.outlier("svc", "honest")).toBeUndefined();
    expect(ledger.outlier("svc", "dodger")).toBeDefined();
    expect(ledger.outlier("other", "dodger")).toBeUndefined();
    ledger.reset("svc", "dodger");
    expect(ledger.count("svc", "dodger")).toEqual({ seen: 0, refused: 0 });
    for (let i = 0; i < DEFAULT_ENGINE_REFUSAL_POLICY.window * 2; i++) ledger.record("svc", "honest", false);
    expect(ledger.count("svc", "honest").seen).toBeLessThan(DEFAULT_ENGINE_REFUSAL_POLICY.window);
  });
});

describe("refusals other nodes disproved", () => {
  it("sanction a node at the policy's count, per service and node, and start afresh on reset", () => {
    const ledger = new EngineRefusalLedger({ ...DEFAULT_ENGINE_REFUSAL_POLICY, disprovedLimit: 3 });
    expect(ledger.disproved("svc", "a")).toBeUndefined();
    expect(ledger.disproved("svc", "a")).toBeUndefined();
    expect(ledger.disproved("other", "a")).toBeUndefined();
    expect(ledger.disproved("svc", "b")).toBeUndefined();
    expect(ledger.disproved("svc", "a")).toBe("refused 3 requests that other nodes answered");
    ledger.reset("svc", "a");
    expect(ledger.disproved("svc", "a")).toBeUndefined();
    expect(ledger.disproved("svc", "b")).toBeUndefined();
    expect(ledger.disproved("svc", "b")).toBe("refused 3 requests that other nodes answered");
  });
});
