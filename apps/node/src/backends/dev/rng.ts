import { randomInt } from "node:crypto";

/** A seeded pseudo-random source; the same seed always yields the same sequence. */
export interface Rng {
  /** Uniform float in [0, 1). */
  next(): number;
  /** Uniform unsigned 32-bit integer. */
  nextUint32(): number;
}

/** splitmix32: spreads a seed's bits so nearby seeds start from unrelated states. */
function splitmix32(state: number): [number, number] {
  const next = (state + 0x9e3779b9) | 0;
  let z = next;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return [next, (z ^ (z >>> 16)) >>> 0];
}

/**
 * xoshiro128** seeded from any safe integer (OpenAI-style `seed` values can exceed 32 bits,
 * so both halves of the number feed the state).
 */
export function createRng(seed: number): Rng {
  if (!Number.isSafeInteger(seed)) throw new RangeError(`seed must be a safe integer, got ${seed}`);
  const high = Math.floor(seed / 0x1_0000_0000) | 0;
  let mix = (seed | 0) ^ Math.imul(high, 0x27d4eb2d);
  const state: number[] = [];
  for (let k = 0; k < 4; k++) {
    const [nextMix, value] = splitmix32(mix);
    mix = nextMix;
    state.push((value ^ (k === 3 ? high : 0)) >>> 0);
  }
  let [s0, s1, s2, s3] = state as [number, number, number, number];
  if ((s0 | s1 | s2 | s3) === 0) s0 = 1;
  const nextUint32 = (): number => {
    const result = Math.imul(rotl(Math.imul(s1, 5), 7), 9) >>> 0;
    const t = s1 << 9;
    s2 ^= s0;
    s3 ^= s1;
    s1 ^= s2;
    s0 ^= s3;
    s2 ^= t;
    s3 = rotl(s3, 11);
    return result;
  };
  return { nextUint32, next: () => nextUint32() / 0x1_0000_0000 };
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** A fresh seed for requests that did not ask for reproducibility; returned to the caller. */
export function randomSeed(): number {
  return randomInt(0, 0xffff_ffff);
}
