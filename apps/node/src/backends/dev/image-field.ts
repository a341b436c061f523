import { createHash } from "node:crypto";
import { inRowBands } from "@pocket-ai/png";
import { buildPalette, samplePalette } from "./image-palette.js";
import { createRng } from "./rng.js";

export interface FieldParams {
  readonly prompt: string;
  readonly negativePrompt: string;
  readonly seed: number;
  readonly steps: number;
  readonly cfgScale: number;
  readonly quality: number;
}

/** Prompts that differ only in case or spacing describe the same picture. */
function promptHash(prompt: string, negativePrompt: string): Buffer {
  const norm = (s: string): string => s.trim().toLowerCase().replace(/\s+/g, " ");
  return createHash("sha256").update(norm(prompt)).update("\0").update(norm(negativePrompt)).digest();
}

/** Integer lattice hash in [0, 1); one `salt` per octave and layer. */
function lattice(ix: number, iy: number, salt: number): number {
  let h = Math.imul(ix, 0x27d4eb2d) ^ Math.imul(iy, 0x165667b1) ^ salt;
  h = Math.imul(h ^ (h >>> 15), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return ((h ^ (h >>> 16)) >>> 0) / 0x1_0000_0000;
}

function valueNoise(x: number, y: number, salt: number): number {
  const ix = Math.floor(x);
  const iy = Math.floor(y);
  const fx = x - ix;
  const fy = y - iy;
  const sx = fx * fx * (3 - 2 * fx);
  const sy = fy * fy * (3 - 2 * fy);
  const top = lattice(ix, iy, salt) + (lattice(ix + 1, iy, salt) - lattice(ix, iy, salt)) * sx;
  const bottom = lattice(ix, iy + 1, salt) + (lattice(ix + 1, iy + 1, salt) - lattice(ix, iy + 1, salt)) * sx;
  return top + (bottom - top) * sy;
}

/** Fractal noise in [0, 1]: each octave doubles the frequency and halves the weight. */
function fbm(x: number, y: number, octaves: number, salt: number): number {
  let sum = 0;
  let weight = 0;
  let amp = 1;
  let freq = 1;
  for (let o = 0; o < octaves; o++) {
    sum += amp * valueNoise(x * freq, y * freq, salt + o * 0x9e3779b9);
    weight += amp;
    amp *= 0.5;
    freq *= 2;
  }
  return sum / weight;
}

/**
 * More steps add finer octaves on top of the same coarse layout, the way more denoising steps
 * refine one composition; a lower quality keeps fewer of them and adds grain.
 */
export function octavesFor(steps: number, quality: number): number {
  const full = Math.min(8, 1 + Math.floor(Math.log2(steps)));
  return Math.max(1, Math.round(full * (0.4 + 0.6 * quality)));
}

/**
 * Renders the picture for (prompt, seed, steps) as RGBA: a domain-warped fractal noise field
 * blended with a directional light, colored through a palette the prompt chooses. Coordinates
 * are in units of the longer side, so a larger canvas shows more of the same scene.
 */
export function renderField(
  width: number,
  height: number,
  params: FieldParams,
  originX = 0,
  originY = 0,
): Uint8Array {
  const out = new Uint8Array(width * height * 4);
  fieldPainter(width, height, params, originX, originY, out)(0, height);
  return out;
}

/**
 * {@link renderField} a band of rows at a time, with a turn of the event loop between bands (see
 * `inRowBands`): the development engine runs in the node's process, and a large picture must not
 * hold the node's other relays. Same bytes.
 */
export async function renderFieldAsync(
  width: number,
  height: number,
  params: FieldParams,
  originX = 0,
  originY = 0,
): Promise<Uint8Array> {
  const out = new Uint8Array(width * height * 4);
  await inRowBands(
    height,
    width * 4 * FIELD_COST,
    fieldPainter(width, height, params, originX, originY, out),
  );
  return out;
}

/** Work per byte of the field, relative to copying one (see `inRowBands`): dozens of noise lookups a pixel. */
const FIELD_COST = 16;

/** Paints rows `[from, to)` of the field into `out`; rows must come in order (the grain is one random stream). */
function fieldPainter(
  width: number,
  height: number,
  params: FieldParams,
  originX: number,
  originY: number,
  out: Uint8Array,
): (from: number, to: number) => void {
  const hash = promptHash(params.prompt, params.negativePrompt);
  const palette = buildPalette(hash, params.prompt, params.negativePrompt);
  const byte = (i: number): number => hash[i]! / 255;
  const salt =
    (hash.readUInt32LE(0) ^ Math.imul(params.seed | 0, 0x2545f491) ^ Math.floor(params.seed / 2 ** 32)) | 0;
  const frequency = 2 + byte(4) * 4;
  const warp = 0.2 + byte(5) * 1.0;
  const angle = byte(6) * Math.PI * 2;
  const lightMix = 0.15 + byte(7) * 0.3;
  const ridged = byte(8) > 0.6;
  const octaves = octavesFor(params.steps, params.quality);
  const contrast = Math.min(2, Math.max(0.5, 0.5 + params.cfgScale / 14));
  const grain = 0.25 * (1 - params.quality);
  const rng = createRng(salt >>> 0);
  const scale = 1 / Math.max(width, height, 1);
  const dx = Math.cos(angle);
  const dy = Math.sin(angle);

  return (from, to) => {
    for (let y = from; y < to; y++) {
      for (let x = 0; x < width; x++) {
        const u = (x + originX) * scale * frequency;
        const v = (y + originY) * scale * frequency;
        const wu = u + warp * (fbm(u + 5.2, v + 1.3, 2, salt ^ 0x51ed270b) - 0.5) * 2;
        const wv = v + warp * (fbm(u + 1.7, v + 9.2, 2, salt ^ 0x2c1b3c6d) - 0.5) * 2;
        let t = fbm(wu, wv, octaves, salt);
        if (ridged) t = 1 - Math.abs(t - 0.5) * 2;
        const light = 0.5 + 0.5 * ((u * dx + v * dy) / frequency - 0.5);
        t = t * (1 - lightMix) + light * lightMix;
        t = 0.5 + (t - 0.5) * contrast + (grain > 0 ? (rng.next() - 0.5) * grain : 0);
        const [r, g, b] = samplePalette(palette, t);
        const p = (y * width + x) * 4;
        out[p] = r;
        out[p + 1] = g;
        out[p + 2] = b;
        out[p + 3] = 255;
      }
    }
  };
}
