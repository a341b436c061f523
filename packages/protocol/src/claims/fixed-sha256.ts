/**
 * SHA-256 (FIPS 180-4) specialised for the claim tree's two fixed input lengths (41-byte leaves,
 * 81-byte nodes). The tree hashes millions of these, so the padding is written once into a
 * reusable scratch buffer, the message schedule lives in one preallocated array, and the digest is
 * written straight into the level buffer: no allocation per hash. Tests check it against
 * `@noble/hashes` for every input length the claim tree uses and more.
 *
 * Internal to `claims/`; not exported from the package.
 */

const K = new Int32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98,
  0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
  0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8,
  0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
  0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819,
  0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
  0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
  0xc67178f2,
]);
const IV = new Int32Array([
  0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
]);

const W = new Int32Array(64);
const H = new Int32Array(8);

/**
 * A scratch buffer for messages of one fixed length, with the SHA-256 padding already in place.
 * Callers write the `length` message bytes at offset 0, then call {@link digestScratch}.
 */
export interface Sha256Scratch {
  readonly bytes: Uint8Array;
  readonly length: number;
  readonly blocks: number;
}

/** A scratch buffer for `length`-byte messages (padding written once). */
export function createSha256Scratch(length: number): Sha256Scratch {
  const blocks = Math.ceil((length + 9) / 64);
  const bytes = new Uint8Array(blocks * 64);
  bytes[length] = 0x80;
  const bits = length * 8;
  const view = new DataView(bytes.buffer);
  view.setUint32(bytes.length - 8, Math.floor(bits / 0x1_0000_0000));
  view.setUint32(bytes.length - 4, bits >>> 0);
  return { bytes, length, blocks };
}

/** Hashes the scratch's message and writes the 32-byte digest to `out` at `outOffset`. */
export function digestScratch(scratch: Sha256Scratch, out: Uint8Array, outOffset: number): void {
  H.set(IV);
  const m = scratch.bytes;
  for (let block = 0; block < scratch.blocks; block++) compress(m, block * 64);
  for (let i = 0; i < 8; i++) {
    const h = H[i]!;
    const o = outOffset + i * 4;
    out[o] = h >>> 24;
    out[o + 1] = h >>> 16;
    out[o + 2] = h >>> 8;
    out[o + 3] = h;
  }
}

function compress(m: Uint8Array, at: number): void {
  for (let t = 0; t < 16; t++) {
    const p = at + t * 4;
    W[t] = (m[p]! << 24) | (m[p + 1]! << 16) | (m[p + 2]! << 8) | m[p + 3]!;
  }
  for (let t = 16; t < 64; t++) {
    const w15 = W[t - 15]!;
    const w2 = W[t - 2]!;
    const s0 = ((w15 >>> 7) | (w15 << 25)) ^ ((w15 >>> 18) | (w15 << 14)) ^ (w15 >>> 3);
    const s1 = ((w2 >>> 17) | (w2 << 15)) ^ ((w2 >>> 19) | (w2 << 13)) ^ (w2 >>> 10);
    W[t] = (W[t - 16]! + s0 + W[t - 7]! + s1) | 0;
  }
  let a = H[0]!;
  let b = H[1]!;
  let c = H[2]!;
  let d = H[3]!;
  let e = H[4]!;
  let f = H[5]!;
  let g = H[6]!;
  let h = H[7]!;
  for (let t = 0; t < 64; t++) {
    const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
    const ch = (e & f) ^ (~e & g);
    const t1 = (h + S1 + ch + K[t]! + W[t]!) | 0;
    const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
    const maj = (a & b) ^ (a & c) ^ (b & c);
    const t2 = (S0 + maj) | 0;
    h = g;
    g = f;
    f = e;
    e = (d + t1) | 0;
    d = c;
    c = b;
    b = a;
    a = (t1 + t2) | 0;
  }
  H[0] = (H[0]! + a) | 0;
  H[1] = (H[1]! + b) | 0;
  H[2] = (H[2]! + c) | 0;
  H[3] = (H[3]! + d) | 0;
  H[4] = (H[4]! + e) | 0;
  H[5] = (H[5]! + f) | 0;
  H[6] = (H[6]! + g) | 0;
  H[7] = (H[7]! + h) | 0;
}
