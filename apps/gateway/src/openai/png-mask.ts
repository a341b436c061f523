import { crc32, deflateSync, inflateSync } from "node:zlib";

/**
 * Just enough PNG to turn an OpenAI-style edit mask into the opaque mask nodes read. A small
 * decoder of our own because the node's codec lives in another app; it reads 8-bit, non-interlaced
 * grey, grey+alpha, RGB, RGBA and palette images — what image editors and the OpenAI docs produce.
 */
export class PngMaskError extends Error {}

const SIGNATURE = Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]);
/** Masks larger than this many pixels are refused before inflating (a decompression bomb guard). */
const MAX_PIXELS = 4096 * 4096;
const CHANNELS: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };

interface Rgba {
  readonly width: number;
  readonly height: number;
  readonly data: Uint8Array;
}

export function decodePng(png: Uint8Array): Rgba {
  const buf = Buffer.from(png.buffer, png.byteOffset, png.byteLength);
  if (buf.length < 33 || !buf.subarray(0, 8).equals(SIGNATURE)) throw new PngMaskError("not a PNG file");
  let header: { width: number; height: number; depth: number; color: number; interlace: number } | undefined;
  let palette: Buffer | undefined;
  let paletteAlpha: Buffer | undefined;
  const idat: Buffer[] = [];
  for (let at = 8; at + 12 <= buf.length; ) {
    const length = buf.readUInt32BE(at);
    const type = buf.toString("latin1", at + 4, at + 8);
    const body = buf.subarray(at + 8, at + 8 + length);
    if (body.length !== length) throw new PngMaskError("truncated PNG chunk");
    if (type === "IHDR") {
      header = {
        width: body.readUInt32BE(0),
        height: body.readUInt32BE(4),
        depth: body[8]!,
        color: body[9]!,
        interlace: body[12]!,
      };
    } else if (type === "PLTE") palette = body;
    else if (type === "tRNS") paletteAlpha = body;
    else if (type === "IDAT") idat.push(body);
    else if (type === "IEND") break;
    at += 12 + length;
  }
  if (header === undefined) throw new PngMaskError("PNG without a header");
  const { width, height, depth, color, interlace } = header;
  const channels = CHANNELS[color];
  if (channels === undefined || depth !== 8 || interlace !== 0) {
    throw new PngMaskError("only 8-bit, non-interlaced PNG masks are supported");
  }
  if (width === 0 || height === 0 || width * height > MAX_PIXELS)
    throw new PngMaskError("PNG size out of range");
  const stride = width * channels;
  const raw = inflate(Buffer.concat(idat), (stride + 1) * height);
  const pixels = unfilter(raw, stride, height, channels);
  return { width, height, data: toRgba(pixels, width * height, color, palette, paletteAlpha) };
}

function inflate(data: Buffer, expected: number): Buffer {
  let out: Buffer;
  try {
    out = inflateSync(data, { maxOutputLength: expected });
  } catch {
    throw new PngMaskError("PNG image data is corrupt");
  }
  if (out.length !== expected) throw new PngMaskError("PNG image data has the wrong length");
  return out;
}

function unfilter(raw: Buffer, stride: number, height: number, bpp: number): Uint8Array {
  const out = new Uint8Array(stride * height);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)]!;
    const src = y * (stride + 1) + 1;
    const row = y * stride;
    for (let x = 0; x < stride; x++) {
      const a = x >= bpp ? out[row + x - bpp]! : 0;
      const b = y > 0 ? out[row - stride + x]! : 0;
      const c = x >= bpp && y > 0 ? out[row - stride + x - bpp]! : 0;
      const v = raw[src + x]!;
      let predictor = 0;
      if (filter === 1) predictor = a;
      else if (filter === 2) predictor = b;
      else if (filter === 3) predictor = (a + b) >> 1;
      else if (filter === 4) predictor = paeth(a, b, c);
      else if (filter !== 0) throw new PngMaskError(`unknown PNG filter ${filter}`);
      out[row + x] = (v + predictor) & 0xff;
    }
  }
  return out;
}

function paeth(a: number, b: number, c: number): number {
  const p = a + b - c;
  const pa = Math.abs(p - a);
  const pb = Math.abs(p - b);
  const pc = Math.abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

function toRgba(px: Uint8Array, count: number, color: number, plte?: Buffer, trns?: Buffer): Uint8Array {
  const out = new Uint8Array(count * 4);
  for (let i = 0; i < count; i++) {
    const o = i * 4;
    if (color === 0 || color === 4) {
      const g = px[i * (color === 0 ? 1 : 2)]!;
      out.set([g, g, g, color === 0 ? 255 : px[i * 2 + 1]!], o);
    } else if (color === 2 || color === 6) {
      const n = color === 2 ? 3 : 4;
      out.set([px[i * n]!, px[i * n + 1]!, px[i * n + 2]!, color === 2 ? 255 : px[i * n + 3]!], o);
    } else {
      const index = px[i]!;
      if (plte === undefined || index * 3 + 2 >= plte.length)
        throw new PngMaskError("PNG palette index out of range");
      out.set([plte[index * 3]!, plte[index * 3 + 1]!, plte[index * 3 + 2]!, trns?.[index] ?? 255], o);
    }
  }
  return out;
}

function chunk(type: string, body: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(body.length, 0);
  head.write(type, 4, "latin1");
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), body])) >>> 0, 0);
  return Buffer.concat([head, body, crc]);
}

const COLOR_TYPE_OF_CHANNELS = { 1: 0, 2: 4, 3: 2, 4: 6 } as const;

/** An 8-bit PNG of 1 (grey), 2 (grey+alpha), 3 (RGB) or 4 (RGBA) channels, filter 0 on every row. */
export function encodePng(
  width: number,
  height: number,
  channels: 1 | 2 | 3 | 4,
  pixels: Uint8Array,
): Buffer {
  const stride = width * channels;
  const raw = Buffer.alloc((stride + 1) * height);
  for (let y = 0; y < height; y++)
    raw.set(pixels.subarray(y * stride, (y + 1) * stride), y * (stride + 1) + 1);
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, COLOR_TYPE_OF_CHANNELS[channels], 0, 0, 0], 8);
  return Buffer.concat([
    SIGNATURE,
    chunk("IHDR", ihdr),
    chunk("IDAT", deflateSync(raw)),
    chunk("IEND", Buffer.alloc(0)),
  ]);
}

/**
 * OpenAI's edit mask marks the area to repaint with transparency; nodes (like AUTOMATIC1111) read
 * an opaque mask as white = repaint. The rule: a mask with any transparency repaints where
 * alpha < 128; a fully opaque mask is already in the node convention and repaints where
 * luminance > 127. The result is an opaque black-and-white PNG of the same size.
 */
export function normaliseEditMask(png: Uint8Array): Buffer {
  const { width, height, data } = decodePng(png);
  let transparent = false;
  for (let p = 3; p < data.length; p += 4) {
    if (data[p]! < 255) {
      transparent = true;
      break;
    }
  }
  const grey = new Uint8Array(width * height);
  for (let i = 0; i < grey.length; i++) {
    const o = i * 4;
    const repaint = transparent
      ? data[o + 3]! < 128
      : 0.299 * data[o]! + 0.587 * data[o + 1]! + 0.114 * data[o + 2]! > 127;
    grey[i] = repaint ? 255 : 0;
  }
  return encodePng(width, height, 1, grey);
}
