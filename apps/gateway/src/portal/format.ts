import { formatUsd } from "../settlement/usd-amount.js";

/** `$0.00075`, `$12.5`, or `—` for null. */
export const usd = (microUsd: number | bigint | null | undefined) =>
  microUsd === null || microUsd === undefined ? "—" : `$${formatUsd(microUsd)}`;

/** A whole number with thin grouping: 12 345. */
export const num = (n: number | null | undefined) =>
  n === null || n === undefined ? "—" : Math.round(n).toLocaleString("en-US");

/** `2026-12-02 06:03 UTC`. */
export const when = (ms: number | null | undefined) =>
  ms === null || ms === undefined ? "—" : `${new Date(ms).toISOString().slice(0, 16).replace("T", " ")} UTC`;

/** 0.8123 → `81.2%`. */
export const pct = (x: number | null | undefined) =>
  x === null || x === undefined ? "—" : `${(x * 100).toFixed(1)}%`;

/** A 0..1 score with its 95% interval: `0.81 [0.76, 0.86]`. */
export const scoreWithInterval = (e: { mean: number; lower: number; upper: number } | undefined) =>
  e === undefined ? "—" : `${e.mean.toFixed(2)} [${e.lower.toFixed(2)}, ${e.upper.toFixed(2)}]`;

/** `1 claim`, `3 claims`. */
export const plural = (n: number, one: string, many = `${one}s`) => `${num(n)} ${n === 1 ? one : many}`;
