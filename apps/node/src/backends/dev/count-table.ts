/**
 * All successor counts, grouped by context. A context is a node of a trie read right to left
 * (node 0 is the empty context; a child extends its parent one token further back), and the
 * successors of node c sit at `start[c]..start[c] + types[c]` of `ids` / `counts`, ids ascending.
 */
export interface CountTable {
  readonly start: Int32Array;
  readonly types: Int32Array;
  readonly total: Float64Array;
  readonly ids: Int32Array;
  readonly counts: Float64Array;
}

/** Lays the counts of orders 2..N out by context node; sorting keys groups them by node, ids ascending. */
export function buildCountTable(
  levels: readonly Map<number, number>[],
  nodes: number,
  V: number,
): CountTable {
  let entries = 0;
  for (let n = 2; n < levels.length; n++) entries += levels[n]!.size;
  const table: CountTable = {
    start: new Int32Array(nodes),
    types: new Int32Array(nodes),
    total: new Float64Array(nodes),
    ids: new Int32Array(entries),
    counts: new Float64Array(entries),
  };
  let at = 0;
  for (let n = 2; n < levels.length; n++) {
    const level = levels[n]!;
    const keys = Float64Array.from(level.keys()).sort();
    for (const key of keys) {
      const node = Math.floor(key / V);
      const count = level.get(key)!;
      if (table.types[node] === 0) table.start[node] = at;
      table.types[node]!++;
      table.total[node]! += count;
      table.ids[at] = key % V;
      table.counts[at] = count;
      at++;
    }
  }
  return table;
}

export function countOf(table: CountTable, node: number, token: number): number {
  let lo = table.start[node]!;
  let hi = lo + table.types[node]! - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const id = table.ids[mid]!;
    if (id === token) return table.counts[mid]!;
    if (id < token) lo = mid + 1;
    else hi = mid - 1;
  }
  return 0;
}

/** Turns the lower-order distribution in `out` into the next order's for context `node`, in place. */
export function applyRow(out: Float64Array, table: CountTable, node: number, d: number): void {
  const total = table.total[node]!;
  const from = table.start[node]!;
  const to = from + table.types[node]!;
  const lambda = (d * (to - from)) / total;
  for (let w = 0; w < out.length; w++) out[w] = out[w]! * lambda;
  for (let i = from; i < to; i++) out[table.ids[i]!]! += Math.max(table.counts[i]! - d, 0) / total;
}
