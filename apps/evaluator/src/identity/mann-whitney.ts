/**
 * The Mann–Whitney U test (two-sided), with mid-ranks for ties and the tie-corrected normal
 * approximation (with continuity correction). It asks whether values from one sample tend to be
 * larger than values from the other, without assuming any distribution — which suits per-token
 * log-probabilities, whose shape depends on the model and the prompts.
 */
export interface MannWhitneyResult {
  readonly u: number;
  readonly z: number;
  readonly pValue: number;
}

/** Standard normal CDF (Abramowitz–Stegun 7.1.26 erf, |error| < 1.5e-7). */
export function normalCdf(x: number): number {
  const t = 1 / (1 + (0.3275911 * Math.abs(x)) / Math.SQRT2);
  const poly =
    t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  const erf = 1 - poly * Math.exp(-(x * x) / 2);
  return x >= 0 ? (1 + erf) / 2 : (1 - erf) / 2;
}

export function mannWhitney(a: readonly number[], b: readonly number[]): MannWhitneyResult {
  const n1 = a.length;
  const n2 = b.length;
  if (n1 === 0 || n2 === 0) return { u: 0, z: 0, pValue: 1 };
  const all = [...a.map((v) => ({ v, g: 0 })), ...b.map((v) => ({ v, g: 1 }))].sort((x, y) => x.v - y.v);
  let rankSumA = 0;
  let tieTerm = 0;
  for (let i = 0; i < all.length; ) {
    let j = i;
    while (j + 1 < all.length && all[j + 1]!.v === all[i]!.v) j++;
    const midRank = (i + j + 2) / 2;
    const size = j - i + 1;
    tieTerm += size ** 3 - size;
    for (let k = i; k <= j; k++) if (all[k]!.g === 0) rankSumA += midRank;
    i = j + 1;
  }
  const u = rankSumA - (n1 * (n1 + 1)) / 2;
  const n = n1 + n2;
  const mean = (n1 * n2) / 2;
  const variance = ((n1 * n2) / 12) * (n + 1 - tieTerm / (n * (n - 1)));
  if (variance <= 0) return { u, z: 0, pValue: 1 };
  const diff = Math.abs(u - mean);
  const z = Math.max(0, diff - 0.5) / Math.sqrt(variance);
  return { u, z: Math.sign(u - mean) * z, pValue: Math.min(1, 2 * (1 - normalCdf(z))) };
}
