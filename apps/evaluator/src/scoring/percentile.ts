/**
 * The p-th percentile (0..100) by linear interpolation between closest ranks; `null` for no data.
 * Speed is published at the slow end: the 10th percentile of tokens per second and the 90th of
 * time to first token, which is what a customer on a bad day feels.
 */
export function percentile(values: readonly number[], p: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = (Math.min(100, Math.max(0, p)) / 100) * (sorted.length - 1);
  const low = Math.floor(rank);
  const high = Math.ceil(rank);
  const a = sorted[low]!;
  const b = sorted[high]!;
  return a + (b - a) * (rank - low);
}
