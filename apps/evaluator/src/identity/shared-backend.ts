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
  for (let i = 0; i < nodes.length; i++) {
    for (let j = i + 1; j < nodes.length; j++) {
      const a = fingerprints.get(nodes[i]!)!;
      const b = fingerprints.get(nodes[j]!)!;
      let common = 0;
      let same = 0;
      for (const [prompt, answer] of a) {
        const other = b.get(prompt);
        if (other === undefined) continue;
        common += 1;
        if (other === answer) same += 1;
      }
      if (common >= MIN_SHARED_PROMPTS && same / common >= SAME_BACKEND_SHARE)
        parent.set(find(nodes[i]!), find(nodes[j]!));
    }
  }
  const members = new Map<string, string[]>();
  for (const n of nodes) members.set(find(n), [...(members.get(find(n)) ?? []), n]);
  const out = new Map<string, string | null>();
  for (const group of members.values()) {
    const id = group.length > 1 ? `backend-${sha256Hex(group.join(",")).slice(0, 12)}` : null;
    for (const n of group) out.set(n, id);
  }
  return out;
}
