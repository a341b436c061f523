import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  type NodeSignal,
  pickNode,
  pickProbabilities,
  seededRandom,
  selectionWeights,
} from "./selection-math.js";

const policy = { probationShare: 0.05, maxOperatorShare: 0.5 };

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
        for (const w of selectionWeights(nodes)) expect(Number.isFinite(w) && w > 0).toBe(true);
        const probs = pickProbabilities(nodes, p);
        for (const x of probs) expect(x).toBeGreaterThanOrEqual(0);
        expect(probs.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 9);
      }),
    );
  });

  it("favour better scores, lower latency and fewer errors", () => {
    const [good, bad] = selectionWeights([node("a", { score: 0.9 }), node("b", { score: 0.3 })]);
    expect(good!).toBeGreaterThan(bad!);
    const [fast, slow] = selectionWeights([node("a", { latencyMs: 50 }), node("b", { latencyMs: 500 })]);
    expect(fast!).toBeGreaterThan(slow!);
    const [ok, flaky] = selectionWeights([node("a"), node("b", { errorRate: 0.5 })]);
    expect(ok!).toBeGreaterThan(flaky!);
  });

  it("treat an unknown score as the candidates' mean", () => {
    const [a, b, unknown] = selectionWeights([
      node("a", { score: 0.8 }),
      node("b", { score: 0.4 }),
      node("c"),
    ]);
    expect(unknown).toBeCloseTo((a! + b!) / 2, 9);
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
        const groups = new Map<string, number>();
        let anonymous = false;
        nodes.forEach((n, i) => {
          if (anyClear && n.sanctioned) return;
          if (n.operator === undefined) anonymous = true;
          else groups.set(n.operator, (groups.get(n.operator) ?? 0) + probs[i]!);
        });
        const cap = anonymous ? p.maxOperatorShare : Math.max(p.maxOperatorShare, 1 / groups.size);
        for (const share of groups.values()) expect(share).toBeLessThanOrEqual(cap + 1e-9);
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
