import { sha256Hex } from "../runs/rng.js";

/** Per node: fingerprint prompt hash → greedy completion hash. */
export type Fingerprints = ReadonlyMap<string, ReadonlyMap<string, string>>;

/** Prompts two nodes must have in common, and the share of identical answers, to be grouped. */
export const MIN_SHARED_PROMPTS = 4;
export const SAME_BACKEND_SHARE = 0.9;

/**
 * Groups nodes whose greedy completions on the day's random prompts are identical (union–find over
 * pairs that agree on ≥ 90% of ≥ 4 common prompts). A group id is a hash of its sorted members;
 * nodes alone get `null`. Identical greedy output also follows from one model with one
 * quantization on deterministic kernels, so the flag says "likely one backend", for people and
 * gateways (which cap the share of one operator) to weigh — it does not remove anyone.
 */
export function sharedBackendGroups(fingerprints: Fingerprints): Map<string, string | null> {
  const nodes = [...fingerprints.keys()].sort();
  const parent = new Map(nodes.map((n) => [n, n]));
  const find = (n: string): string => {
    const p = parent.get(n)!;
    if (p === n) return n;
    const root = find(p);
    parent.set(n, root);
    return root;
  };
  // Only pairs that gave one identical answer can agree on 90%: they are found through an index of
  // (prompt, answer) → nodes, and their identical answers counted there, instead of comparing every
  // pair of nodes (quadratic in nodes, each pair over all its prompts).
  const byAnswer = new Map<string, number[]>();
  nodes.forEach((n, i) => {
    for (const [prompt, answer] of fingerprints.get(n)!) {
      const key = `${prompt}\u0000${answer}`;
      const list = byAnswer.get(key);
      if (list === undefined) byAnswer.set(key, [i]);
      else list.push(i);
    }
  });
  const same = new Map<number, number>();
  for (const list of byAnswer.values())
    for (let x = 0; x < list.length; x++)
      for (let y = x + 1; y < list.length; y++) {
        const pair = list[x]! * nodes.length + list[y]!;
        same.set(pair, (same.get(pair) ?? 0) + 1);
      }
  const smallest = Math.ceil(MIN_SHARED_PROMPTS * SAME_BACKEND_SHARE);
  for (const [pair, agreed] of same) {
    if (agreed < smallest) continue;
    const i = Math.floor(pair / nodes.length);
    const j = pair % nodes.length;
    const a = fingerprints.get(nodes[i]!)!;
    const b = fingerprints.get(nodes[j]!)!;
    const [few, many] = a.size <= b.size ? [a, b] : [b, a];
    let common = 0;
    for (const prompt of few.keys()) if (many.has(prompt)) common += 1;
    if (common >= MIN_SHARED_PROMPTS && agreed / common >= SAME_BACKEND_SHARE)
      parent.set(find(nodes[i]!), find(nodes[j]!));
  }
  const members = new Map<string, string[]>();
  for (const n of nodes) {
    const root = find(n);
    const group = members.get(root);
    if (group === undefined) members.set(root, [n]);
    else group.push(n);
  }
  const out = new Map<string, string | null>();
  for (const group of members.values()) {
    const id = group.length > 1 ? `backend-${sha256Hex(group.join(",")).slice(0, 12)}` : null;
    for (const n of group) out.set(n, id);
  }
  return out;
}
