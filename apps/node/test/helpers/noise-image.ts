import type { RgbaImage } from "@pocket-ai/png";

/**
 * A picture of pseudo-random bytes (xorshift from `seed`), so every pixel differs from its
 * neighbours; `opaque` sets every alpha to 255.
 */
export function noiseImage(width: number, height: number, seed: number, opaque = false): RgbaImage {
  const data = new Uint8Array(width * height * 4);
  let state = seed | 1;
  for (let p = 0; p < data.length; p++) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    data[p] = opaque && p % 4 === 3 ? 255 : state & 0xff;
  }
  return { width, height, data };
}

/** Byte equality without `toEqual` walking millions of elements one by one. */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.compare(a, b) === 0;
}
