/**
 * Tolerant weighted random selection, as pure math. A node's weight is
 *
 *   w = score × latency × reliability
 *   score       = evaluator's overall mean, ≥ 0.01; unscored (a key the evaluator has not measured
 *                 yet): `unscoredShare` of the scored candidates' mean, never above the lowest of
 *                 them (1 when none is scored)
 *   latency     = 2m / (m + l), l the node's latency EWMA (TTFT for streams), m the median of the
 *                 candidates' known latencies (unknown l: 1; the median node gets 1, a 3× slower one 0.5)
 *   reliability = (1 − e)², e the node's error-rate EWMA (capped at 0.99)
 *
 * Sanctioned nodes get nothing while any other node is eligible. The probabilities mix a uniform
 * probation share with the weights — p = share / n + (1 − share) · w / Σw — so a low scorer or a
 * node back from a sanction keeps being measured. While scored and unscored nodes are both
 * eligible, the unscored together get at most `unscoredShare` of the picks (keys cost nothing: a
 * node caught cheating that comes back under new ones, however many, stays within it); then,
 * among the scored and among the unscored apart, one declared operator's total is capped (the
 * excess goes to the other nodes of that part in proportion). Nodes that declare no operator are
 * not grouped.
 */

export interface NodeSignal {
  readonly address: string;
  readonly operator: string | undefined;
  /** The evaluator's overall mean score, 0..1. */
  readonly score: number | undefined;
  readonly latencyMs: number | undefined;
  /** 0..1 */
  readonly errorRate: number;
  readonly sanctioned: boolean;
}

export interface SelectionPolicy {
  readonly probationShare: number;
  readonly maxOperatorShare: number;
  /** Most of the picks unscored nodes get together while a scored node is eligible; also their weight's share of the scored mean. */
  readonly unscoredShare: number;
}

const clamp = (x: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, x));

function median(values: readonly number[]): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Whether the evaluator has scored the node (on the service it would serve the relay under). */
const isScored = (n: NodeSignal) => n.score !== undefined && Number.isFinite(n.score);

/**
 * Each node's weight before sanctions, probation, the unscored share and the operator cap. Always
 * finite and > 0. `unscoredShare` sets an unscored node's score against the scored ones'.
 */
export function selectionWeights(nodes: readonly NodeSignal[], unscoredShare: number): number[] {
  let sum = 0;
  let scored = 0;
  let lowest = 1;
  for (const n of nodes) {
    if (!isScored(n)) continue;
    const s = clamp(n.score!, 0, 1);
    sum += s;
    scored += 1;
    lowest = Math.min(lowest, s);
  }
  // A new key is trusted less than the nodes that proved themselves, and never more than any of
  // them: one caught cheating gains nothing by coming back under another.
  const unknown = scored === 0 ? 1 : Math.min(lowest, (clamp(unscoredShare, 0, 1) * sum) / scored);
  const latencies = nodes.flatMap((n) =>
    n.latencyMs === undefined || !Number.isFinite(n.latencyMs) ? [] : [Math.max(0, n.latencyMs)],
  );
  const m = Math.max(1, median(latencies) ?? 1);
  return nodes.map((n) => {
    const score = clamp(isScored(n) ? n.score! : unknown, 0.01, 1);
    const l =
      n.latencyMs === undefined || !Number.isFinite(n.latencyMs) ? undefined : Math.max(0, n.latencyMs);
    const latency = l === undefined ? 1 : (2 * m) / (m + l);
    const e = clamp(Number.isFinite(n.errorRate) ? n.errorRate : 0, 0, 0.99);
    return score * latency * (1 - e) ** 2;
  });
}

/** The probability of picking each node (they sum to 1 unless `nodes` is empty). */
export function pickProbabilities(nodes: readonly NodeSignal[], policy: SelectionPolicy): number[] {
  if (nodes.length === 0) return [];
  const anyClear = nodes.some((n) => !n.sanctioned);
  const eligible = nodes.map((n) => !anyClear || !n.sanctioned);
  const weights = selectionWeights(nodes, policy.unscoredShare).map((w, i) => (eligible[i] ? w : 0));
  const count = eligible.filter(Boolean).length;
  const total = weights.reduce((a, b) => a + b, 0);
  const share = clamp(policy.probationShare, 0, 1);
  const p = weights.map((w, i) =>
    eligible[i] ? share / count + (1 - share) * (total > 0 ? w / total : 1 / count) : 0,
  );
  let unscoredMass = 0;
  let scoredMass = 0;
  nodes.forEach((n, i) => {
    if (!eligible[i]) return;
    if (isScored(n)) scoredMass += p[i]!;
    else unscoredMass += p[i]!;
  });
  // One kind only (a new network, a service no node of which is scored yet, or all scored): as is.
  if (unscoredMass === 0 || scoredMass === 0)
    return capOperators(nodes, p, eligible, policy.maxOperatorShare);
  // Both kinds: each part keeps its own mix, the unscored part held to its share, and the operator
  // cap applies within each part (it never lifts the unscored above their share).
  const unscoredShare = Math.min(unscoredMass, clamp(policy.unscoredShare, 0, 1));
  const parts: [boolean, number, number][] = [
    [false, unscoredMass, unscoredShare],
    [true, scoredMass, 1 - unscoredShare],
  ];
  const out = new Array<number>(nodes.length).fill(0);
  for (const [scored, mass, target] of parts) {
    const inPart = nodes.map((n, i) => eligible[i]! && isScored(n) === scored);
    const capped = capOperators(
      nodes,
      p.map((x, i) => (inPart[i] ? x / mass : 0)),
      inPart,
      policy.maxOperatorShare,
    );
    capped.forEach((x, i) => {
      if (inPart[i]) out[i] = x * target;
    });
  }
  return out;
}

/**
 * Water-filling: an operator above the cap is scaled down to it and the freed share goes to the
 * other nodes in proportion, until none is above. When only declared operators remain and there
 * are fewer than 1/cap of them, the cap cannot hold and becomes 1/operators (an even split).
 */
function capOperators(
  nodes: readonly NodeSignal[],
  p: number[],
  eligible: readonly boolean[],
  maxShare: number,
): number[] {
  const groupOf = (n: NodeSignal) => n.operator ?? `node:${n.address}`;
  const live = nodes.filter((_, i) => eligible[i]);
  const operators = new Set(live.flatMap((n) => (n.operator === undefined ? [] : [n.operator])));
  // Only declared operators are capped: with none, nothing to do (the common case, per relay).
  if (operators.size === 0) return p;
  const anonymous = live.some((n) => n.operator === undefined);
  const cap = anonymous ? maxShare : Math.max(maxShare, 1 / Math.max(1, operators.size));
  const capped = new Set<string>();
  for (let round = 0; round <= operators.size; round++) {
    const totals = new Map<string, number>();
    nodes.forEach((n, i) => {
      totals.set(groupOf(n), (totals.get(groupOf(n)) ?? 0) + p[i]!);
    });
    const over = [...totals].filter(([g, t]) => operators.has(g) && !capped.has(g) && t > cap + 1e-12);
    if (over.length === 0) break;
    for (const [g, t] of over) {
      nodes.forEach((n, i) => {
        if (groupOf(n) === g) p[i] = (p[i]! * cap) / t;
      });
      capped.add(g);
    }
    const free = 1 - cap * capped.size;
    const rest = nodes.reduce((s, n, i) => (capped.has(groupOf(n)) ? s : s + p[i]!), 0);
    if (rest <= 0) break;
    nodes.forEach((n, i) => {
      if (!capped.has(groupOf(n))) p[i] = (p[i]! * free) / rest;
    });
  }
  return p;
}

/** Draws one node index with `random()` in [0, 1); `undefined` when `nodes` is empty. */
export function pickNode(
  nodes: readonly NodeSignal[],
  policy: SelectionPolicy,
  random: () => number,
): number | undefined {
  const p = pickProbabilities(nodes, policy);
  let last: number | undefined;
  let r = random();
  for (let i = 0; i < p.length; i++) {
    if (p[i]! <= 0) continue;
    last = i;
    r -= p[i]!;
    if (r < 0) return i;
  }
  return last;
}

/** A small seeded generator (mulberry32) for reproducible draws in tests and simulations. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
