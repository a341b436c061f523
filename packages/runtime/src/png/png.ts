import { deflateSync, inflateSync } from "node:zlib";
import { crc32 } from "./crc32.js";

/** An 8-bit RGBA raster, row-major, 4 bytes per pixel. */
export interface RgbaImage {
  readonly width: number;
  readonly height: number;
  readonly data: Uint8Array;
}

export class PngError extends Error {
  override readonly name = "PngError";
}

const SIGNATURE = Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a);
/** Channels per PNG color type we read: grayscale, RGB, grayscale + alpha, RGBA. */
const CHANNELS: Record<number, number> = { 0: 1, 2: 3, 4: 2, 6: 4 };
export type PngFilter = 0 | 1 | 2 | 3 | 4;
/** 0 grayscale, 2 RGB, 4 grayscale + alpha, 6 RGBA. */
export type PngColorType = 0 | 2 | 4 | 6;

export interface PngEncodeOptions {
  readonly filter?: PngFilter;
  /** Defaults to RGBA; gray types keep the red channel, so pass images with r = g = b. */
  readonly colorType?: PngColorType;
}

/**
 * Encodes RGBA as a PNG. By default each row takes the filter with the smallest sum of absolute
 * filtered bytes (the usual heuristic, which compresses smooth images well); a fixed filter can
 * be forced, which tests use to exercise every filter in the decoder.
 */
export function encodePng(image: RgbaImage, options: PngEncodeOptions = {}): Uint8Array {
  const { width, height } = image;
  if (image.data.length !== width * height * 4)
    throw new PngError("pixel data does not match width × height × 4");
  const colorType = options.colorType ?? 6;
  const channels = CHANNELS[colorType]!;
  const data = fromRgba(image.data, colorType);
  const stride = width * channels;
  const raw = new Uint8Array((stride + 1) * height);
  const candidate = new Uint8Array(stride);
  for (let y = 0; y < height; y++) {
    const row = data.subarray(y * stride, (y + 1) * stride);
    const prior = y > 0 ? data.subarray((y - 1) * stride, y * stride) : undefined;
    const filters: PngFilter[] = options.filter === undefined ? [0, 1, 2, 3, 4] : [options.filter];
    let best: PngFilter = filters[0]!;
    let bestScore = Number.POSITIVE_INFINITY;
    for (const filter of filters) {
      applyFilter(filter, row, prior, candidate, channels, false);
      let score = 0;
      for (const b of candidate) score += b < 128 ? b : 256 - b;
      if (score < bestScore) {
        bestScore = score;
        best = filter;
      }
    }
    const out = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    applyFilter(best, row, prior, out, channels, false);
    raw[y * (stride + 1)] = best;
  }
  const header = new Uint8Array(13);
  const view = new DataView(header.buffer);
  view.setUint32(0, width);
  view.setUint32(4, height);
  header.set([8, colorType, 0, 0, 0], 8);
  return concat([
    SIGNATURE,
    chunk("IHDR", header),
    chunk("IDAT", deflateSync(raw)),
    chunk("IEND", new Uint8Array(0)),
  ]);
}

/** Decodes an 8-bit, non-interlaced grayscale, RGB, grayscale + alpha or RGBA PNG into RGBA. */
export function decodePng(bytes: Uint8Array): RgbaImage {
  if (bytes.length < 8 || SIGNATURE.some((b, i) => bytes[i] !== b)) throw new PngError("not a PNG file");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = 8;
  let header: Uint8Array | undefined;
  const idat: Uint8Array[] = [];
  for (;;) {
    if (at + 12 > bytes.length) throw new PngError("truncated PNG: no IEND chunk");
    const length = view.getUint32(at);
    if (at + 12 + length > bytes.length) throw new PngError("truncated PNG chunk");
    const typeAndData = bytes.subarray(at + 4, at + 8 + length);
    if (crc32(typeAndData) !== view.getUint32(at + 8 + length)) throw new PngError("PNG chunk CRC mismatch");
    const type = String.fromCharCode(...typeAndData.subarray(0, 4));
    const body = typeAndData.subarray(4);
    at += 12 + length;
    if (type === "IHDR") header = body;
    else if (type === "IDAT") idat.push(body);
    else if (type === "IEND") break;
  }
  if (header === undefined || header.length !== 13) throw new PngError("missing IHDR chunk");
  const hv = new DataView(header.buffer, header.byteOffset, 13);
  const width = hv.getUint32(0);
  const height = hv.getUint32(4);
  const [depth, colorType, , , interlace] = header.subarray(8);
  const channels = CHANNELS[colorType ?? -1];
  if (depth !== 8 || channels === undefined) {
    throw new PngError(
      `unsupported PNG: bit depth ${depth}, color type ${colorType} (need 8-bit gray/RGB/RGBA)`,
    );
  }
  if (interlace !== 0) throw new PngError("interlaced PNGs are not supported");
  if (width === 0 || height === 0 || width * height > 64_000_000)
    throw new PngError("PNG dimensions out of range");

  const raw = inflateSync(concat(idat));
  const stride = width * channels;
  if (raw.length < (stride + 1) * height) throw new PngError("PNG image data is too short");
  const pixels = new Uint8Array(stride * height);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)]!;
    if (filter > 4) throw new PngError(`unknown PNG filter type ${filter}`);
    const prior = y > 0 ? pixels.subarray((y - 1) * stride, y * stride) : undefined;
    const src = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    applyFilter(
      filter as PngFilter,
      src,
      prior,
      pixels.subarray(y * stride, (y + 1) * stride),
      channels,
      true,
    );
  }
  return { width, height, data: toRgba(pixels, channels) };
}

/**
 * Filters (`undo` false) or unfilters (`undo` true) one scanline. When undoing, neighbours are
 * read from `out`, the already reconstructed row; when filtering, from the raw `row`.
 */
function applyFilter(
  filter: PngFilter,
  row: Uint8Array,
  prior: Uint8Array | undefined,
  out: Uint8Array,
  bpp: number,
  undo: boolean,
): void {
  const recon = undo ? out : row;
  for (let i = 0; i < row.length; i++) {
    const a = i >= bpp ? recon[i - bpp]! : 0;
    const b = prior ? prior[i]! : 0;
    const c = prior && i >= bpp ? prior[i - bpp]! : 0;
    const predictor =
      filter === 0 ? 0 : filter === 1 ? a : filter === 2 ? b : filter === 3 ? (a + b) >> 1 : paeth(a, b, c);
    out[i] = undo ? (row[i]! + predictor) & 0xff : (row[i]! - predictor) & 0xff;
  }
}

function paeth(a: number, b: number, c: number): number {
  const p = a + b - c;
  const pa = Math.abs(p - a);
  const pb = Math.abs(p - b);
  const pc = Math.abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

function fromRgba(rgba: Uint8Array, colorType: PngColorType): Uint8Array {
  if (colorType === 6) return rgba;
  const picks = colorType === 0 ? [0] : colorType === 2 ? [0, 1, 2] : [0, 3];
  const out = new Uint8Array((rgba.length / 4) * picks.length);
  for (let p = 0, o = 0; p < rgba.length; p += 4) for (const k of picks) out[o++] = rgba[p + k]!;
  return out;
}

function toRgba(pixels: Uint8Array, channels: number): Uint8Array {
  if (channels === 4) return pixels;
  const count = pixels.length / channels;
  const rgba = new Uint8Array(count * 4);
  for (let p = 0; p < count; p++) {
    const s = p * channels;
    const gray = channels <= 2;
    rgba[p * 4] = pixels[s]!;
    rgba[p * 4 + 1] = gray ? pixels[s]! : pixels[s + 1]!;
    rgba[p * 4 + 2] = gray ? pixels[s]! : pixels[s + 2]!;
    rgba[p * 4 + 3] = channels === 2 ? pixels[s + 1]! : 255;
  }
  return rgba;
}

function chunk(type: string, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + body.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, body.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(body, 8);
  view.setUint32(8 + body.length, crc32(out.subarray(4, 8 + body.length)));
  return out;
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}
