import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  type NodeSignal,
  pickNode,
  pickProbabilities,
  seededRandom,
  selectionWeights,
} from "./selection-math.js";

const policy = { probationShare: 0.05, maxOperatorShare: 0.5, unscoredShare: 0.1 };

const signal = fc.record({
  address: fc.uuid(),
  operator: fc.option(fc.constantFrom("acme", "globex", "initech", "umbrella"), { nil: undefined }),
  score: fc.option(fc.double({ min: 0, max: 1, noNaN: true }), { nil: undefined }),
  latencyMs: fc.option(fc.double({ min: 0, max: 60_000, noNaN: true }), { nil: undefined }),
  errorRate: fc.double({ min: 0, max: 1, noNaN: true }),
  sanctioned: fc.boolean(),
}) satisfies fc.Arbitrary<NodeSignal>;
const signals = fc.uniqueArray(signal, { minLength: 1, maxLength: 30, selector: (s) => s.address });
const policies = fc.record({
  probationShare: fc.double({ min: 0, max: 1, noNaN: true }),
  maxOperatorShare: fc.double({ min: 0.01, max: 1, noNaN: true }),
  unscoredShare: fc.double({ min: 0, max: 1, noNaN: true }),
});

const node = (address: string, fields: Partial<NodeSignal> = {}): NodeSignal => ({
  address,
  operator: undefined,
  score: undefined,
  latencyMs: undefined,
  errorRate: 0,
  sanctioned: false,
  ...fields,
});

describe("selection weights", () => {
  it("are finite and positive, and probabilities are a distribution", () => {
    fc.assert(
      fc.property(signals, policies, (nodes, p) => {
        for (const w of selectionWeights(nodes, p.unscoredShare))
          expect(Number.isFinite(w) && w > 0).toBe(true);
        const probs = pickProbabilities(nodes, p);
        for (const x of probs) expect(x).toBeGreaterThanOrEqual(0);
        expect(probs.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 9);
      }),
    );
  });

  it("favour better scores, lower latency and fewer errors", () => {
    const [good, bad] = selectionWeights([node("a", { score: 0.9 }), node("b", { score: 0.3 })], 0.1);
    expect(good!).toBeGreaterThan(bad!);
    const [fast, slow] = selectionWeights([node("a", { latencyMs: 50 }), node("b", { latencyMs: 500 })], 0.1);
    expect(fast!).toBeGreaterThan(slow!);
    const [ok, flaky] = selectionWeights([node("a"), node("b", { errorRate: 0.5 })], 0.1);
    expect(ok!).toBeGreaterThan(flaky!);
  });

  it("weigh an unknown score at the unscored share of the scored mean, never above the lowest scored", () => {
    const [, , unknown] = selectionWeights(
      [node("a", { score: 0.8 }), node("b", { score: 0.4 }), node("c")],
      0.1,
    );
    expect(unknown).toBeCloseTo(0.1 * 0.6, 9);
    const [low, , under] = selectionWeights(
      [node("a", { score: 0.03 }), node("b", { score: 0.9 }), node("c")],
      0.5,
    );
    expect(under).toBeCloseTo(low!, 9);
    // No scored candidate (a new network): every node is weighed alike.
    expect(selectionWeights([node("a"), node("b")], 0.1)).toEqual([1, 1]);
  });
});

describe("unscored nodes", () => {
  const honest = Array.from({ length: 9 }, (_, i) => node(`honest-${i}`, { score: 0.7 }));

  it("give a node caught cheating no more traffic under a fresh key than under its penalised one", () => {
    // The penalised key is weighed at a tenth of its score (PENALTY_WEIGHT).
    const penalised = pickProbabilities([...honest, node("cheater", { score: 0.07 })], policy).at(-1)!;
    const fresh = pickProbabilities([...honest, node("fresh-key")], policy).at(-1)!;
    expect(penalised).toBeGreaterThan(0);
    expect(fresh).toBeGreaterThan(0);
    expect(fresh).toBeLessThanOrEqual(penalised + 1e-12);
  });

  it("get together at most the unscored share while a scored node is eligible, and serve alone otherwise", () => {
    fc.assert(
      fc.property(signals, policies, (nodes, p) => {
        const probs = pickProbabilities(nodes, p);
        const anyClear = nodes.some((n) => !n.sanctioned);
        const eligible = (n: NodeSignal) => !anyClear || !n.sanctioned;
        const scoredEligible = nodes.some((n) => eligible(n) && n.score !== undefined);
        const unscored = nodes.reduce((s, n, i) => (n.score === undefined ? s + probs[i]! : s), 0);
        if (scoredEligible) expect(unscored).toBeLessThanOrEqual(p.unscoredShare + 1e-9);
        else expect(unscored).toBeCloseTo(1, 9);
      }),
    );
    // However many new keys one party brings, in a small pool or a large one.
    for (const keys of [1, 5, 50]) {
      const sybils = Array.from({ length: keys }, (_, i) => node(`key-${i}`));
      const probs = pickProbabilities([...honest, ...sybils], policy);
      expect(probs.slice(honest.length).reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(0.1 + 1e-12);
    }
    // A service none of whose nodes is scored yet, or whose scored nodes are sanctioned, still serves.
    expect(pickProbabilities([node("a"), node("b")], policy)).toEqual([0.5, 0.5]);
    const [sanctioned, a, b] = pickProbabilities(
      [node("scored", { score: 0.9, sanctioned: true }), node("a"), node("b")],
      policy,
    );
    expect([sanctioned, a, b]).toEqual([0, 0.5, 0.5]);
  });
});

describe("pickNode", () => {
  it("never picks a sanctioned node while an unsanctioned one exists", () => {
    fc.assert(
      fc.property(signals, policies, fc.integer(), (nodes, p, seed) => {
        const random = seededRandom(seed);
        const anyClear = nodes.some((n) => !n.sanctioned);
        for (let i = 0; i < 20; i++) {
          const picked = pickNode(nodes, p, random);
          expect(picked).toBeDefined();
          if (anyClear) expect(nodes[picked!]!.sanctioned).toBe(false);
        }
      }),
    );
  });

  it("keeps a declared operator's probability under the cap while others have nodes", () => {
    fc.assert(
      fc.property(signals, policies, (nodes, p) => {
        const probs = pickProbabilities(nodes, p);
        const anyClear = nodes.some((n) => !n.sanctioned);
        const live: readonly NodeSignal[] = nodes.filter((n) => !anyClear || !n.sanctioned);
        // While scored and unscored nodes are both eligible, the cap holds within each part.
        const mixed = live.some((n) => n.score === undefined) && live.some((n) => n.score !== undefined);
        const parts = mixed ? [true, false] : [undefined];
        for (const scored of parts) {
          const inPart = (n: NodeSignal) =>
            live.includes(n) && (scored === undefined || (n.score !== undefined) === scored);
          const groups = new Map<string, number>();
          let anonymous = false;
          let mass = 0;
          nodes.forEach((n, i) => {
            if (!inPart(n)) return;
            mass += probs[i]!;
            if (n.operator === undefined) anonymous = true;
            else groups.set(n.operator, (groups.get(n.operator) ?? 0) + probs[i]!);
          });
          const cap = anonymous ? p.maxOperatorShare : Math.max(p.maxOperatorShare, 1 / groups.size);
          for (const share of groups.values()) expect(share).toBeLessThanOrEqual(cap * mass + 1e-9);
        }
      }),
    );
  });

  it("respects the operator cap over many draws", () => {
    const nodes = [
      ...Array.from({ length: 8 }, (_, i) => node(`big-${i}`, { operator: "big", latencyMs: 20 })),
      node("small-1", { operator: "small", latencyMs: 200 }),
      node("solo", { latencyMs: 400 }),
    ];
    const random = seededRandom(7);
    let big = 0;
    const draws = 20_000;
    for (let i = 0; i < draws; i++) if (nodes[pickNode(nodes, policy, random)!]!.operator === "big") big += 1;
    expect(big / draws).toBeLessThan(0.52);
    expect(big / draws).toBeGreaterThan(0.45);
  });

  it("gives a probation share to a node with a poor record", () => {
    const nodes = [node("good", { score: 1 }), node("poor", { score: 0.01, errorRate: 0.99 })];
    const [, poor] = pickProbabilities(nodes, policy);
    expect(poor!).toBeGreaterThanOrEqual(0.025);
    expect(poor!).toBeLessThan(0.03);
  });

  it("is deterministic for a seed", () => {
    fc.assert(
      fc.property(signals, policies, fc.integer(), (nodes, p, seed) => {
        const a = seededRandom(seed);
        const b = seededRandom(seed);
        for (let i = 0; i < 10; i++) expect(pickNode(nodes, p, a)).toBe(pickNode(nodes, p, b));
      }),
    );
  });

  it("returns undefined for no nodes", () => {
    expect(pickNode([], policy, Math.random)).toBeUndefined();
  });
});
