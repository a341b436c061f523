import { createInflate, deflate, deflateSync, inflate as inflateOnPool, inflateSync } from "node:zlib";
import { crc32 } from "./crc32.js";
import { inRowBands, nextTurn, sliceRows } from "./row-bands.js";

/** An 8-bit RGBA raster, row-major, 4 bytes per pixel. */
export interface RgbaImage {
  readonly width: number;
  readonly height: number;
  readonly data: Uint8Array;
}

/**
 * Why a PNG was refused: `not-png` (no PNG signature), `truncated` (a chunk runs past the end or
 * IEND is missing), `checksum` (a chunk CRC does not match), `unsupported` (bit depth, colour type
 * or interlacing this codec does not read), `too-large` (the declared size exceeds the caller's
 * pixel budget, or the image data inflates past what the size allows), `corrupt` (the image data
 * or a palette does not make a valid image), `invalid-input` (encoding pixels that do not match
 * the declared size).
 */
export type PngErrorReason =
  | "not-png"
  | "truncated"
  | "checksum"
  | "unsupported"
  | "too-large"
  | "corrupt"
  | "invalid-input";

export class PngError extends Error {
  override readonly name = "PngError";
  constructor(
    readonly reason: PngErrorReason,
    message: string,
  ) {
    super(message);
  }
}

const SIGNATURE = Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a);
/** Samples per pixel of each colour type this codec reads (3, palette, is one index per pixel). */
const CHANNELS: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };
export type PngFilter = 0 | 1 | 2 | 3 | 4;
/** 0 grayscale, 2 RGB, 3 palette (decode only), 4 grayscale + alpha, 6 RGBA. */
export type PngColorType = 0 | 2 | 3 | 4 | 6;
/** The colour types `encodePng` writes: every one but palette. */
export type PngEncodeColorType = Exclude<PngColorType, 3>;

/**
 * The pixel budget `decodePng` applies when the caller gives none: 64 megapixels (256 MiB of
 * RGBA). Callers that read untrusted uploads pass their own, smaller budget.
 */
export const DEFAULT_MAX_PIXELS = 64_000_000;

export interface PngEncodeOptions {
  readonly filter?: PngFilter;
  /** Defaults to RGBA; gray types keep the red channel, so pass images with r = g = b. */
  readonly colorType?: PngEncodeColorType;
}

export interface PngDecodeOptions {
  /** Refuse images with more pixels than this, before inflating anything. */
  readonly maxPixels?: number;
}

/** What a PNG's IHDR chunk declares. */
export interface PngHeader {
  readonly width: number;
  readonly height: number;
  readonly bitDepth: number;
  readonly colorType: number;
  readonly interlaced: boolean;
}

/**
 * Encodes RGBA as a PNG. By default each row takes the filter with the smallest sum of absolute
 * filtered bytes (the usual heuristic, which compresses smooth images well); a fixed filter can
 * be forced, which tests use to exercise every filter in the decoder.
 */
export function encodePng(image: RgbaImage, options: PngEncodeOptions = {}): Uint8Array {
  const plan = encodePlan(image, options);
  encodeRows(plan, 0, image.height);
  return pngFile(image.width, image.height, plan.colorType, deflateSync(plan.raw));
}

/**
 * {@link encodePng} without holding the event loop: the rows are filtered a band at a time, with a
 * turn of the event loop between bands (see `inRowBands`), and deflated on zlib's thread pool, so a
 * server encoding a large image goes on answering its other requests meanwhile. A band is bounded
 * by its work, as the decoder's are: choosing each row's filter costs eleven passes over the row
 * (`filterPasses`), so a band of the default adaptive filtering has about a tenth of the rows of one of
 * a fixed filter. Same bytes as `encodePng`, same {@link PngError} (as a rejection).
 */
export async function encodePngAsync(image: RgbaImage, options: PngEncodeOptions = {}): Promise<Uint8Array> {
  const plan = encodePlan(image, options);
  await inRowBands(image.height, encodeRowCost(plan), (from, to) => encodeRows(plan, from, to));
  const compressed = await new Promise<Uint8Array>((resolve, reject) =>
    deflate(plan.raw, (error, out) => (error ? reject(error) : resolve(out))),
  );
  return pngFile(image.width, image.height, plan.colorType, compressed);
}

/**
 * The samples to write (picked out of the RGBA rows as they are encoded, unless the image is
 * written as RGBA) and the buffer of filtered scanlines `filterRow` fills, one row at a time.
 */
function encodePlan(image: RgbaImage, options: PngEncodeOptions) {
  const { width, height } = image;
  if (image.data.length !== width * height * 4)
    throw new PngError("invalid-input", "pixel data does not match width × height × 4");
  const colorType = options.colorType ?? 6;
  const channels = CHANNELS[colorType]!;
  const stride = width * channels;
  return {
    rgba: image.data,
    width,
    colorType,
    channels,
    stride,
    data: colorType === 6 ? image.data : new Uint8Array(stride * height),
    raw: new Uint8Array((stride + 1) * height),
    candidate: new Uint8Array(stride),
    filters: (options.filter === undefined ? [0, 1, 2, 3, 4] : [options.filter]) as readonly PngFilter[],
  };
}

type EncodePlan = ReturnType<typeof encodePlan>;

/**
 * Passes over a row's bytes that filtering it takes, each about the work of unfiltering it: with
 * no filter forced, every candidate is applied and scored, then the best one applied again.
 */
const filterPasses = (filters: number) => (filters > 1 ? 2 * filters + 1 : 1);

/** Work per row of encoding, in bytes' worth (see `inRowBands`): its samples picked, then filtered. */
function encodeRowCost(plan: EncodePlan): number {
  return (plan.colorType === 6 ? 0 : plan.width * 4) + plan.stride * filterPasses(plan.filters.length);
}

/** Encodes rows `[from, to)` into the plan's scanlines (the rows above them done already). */
function encodeRows(plan: EncodePlan, from: number, to: number): void {
  if (plan.colorType !== 6)
    sampleRows(plan.rgba, plan.data, from * plan.width, to * plan.width, plan.colorType);
  for (let y = from; y < to; y++) filterRow(plan, y);
}

/** Filters row `y` into the plan's scanlines with the filter that scores best (or the forced one). */
function filterRow(plan: EncodePlan, y: number): void {
  const { data, raw, candidate, filters, stride, channels } = plan;
  const row = data.subarray(y * stride, (y + 1) * stride);
  const prior = y > 0 ? data.subarray((y - 1) * stride, y * stride) : undefined;
  let best: PngFilter = filters[0]!;
  let bestScore = Number.POSITIVE_INFINITY;
  if (filters.length > 1) {
    for (const filter of filters) {
      applyFilter(filter, row, prior, candidate, channels, false);
      let score = 0;
      for (const b of candidate) score += b < 128 ? b : 256 - b;
      if (score < bestScore) {
        bestScore = score;
        best = filter;
      }
    }
  }
  const out = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
  applyFilter(best, row, prior, out, channels, false);
  raw[y * (stride + 1)] = best;
}

/** Signature, IHDR (8-bit, no interlacing), one IDAT of `compressed` and IEND. */
function pngFile(width: number, height: number, colorType: number, compressed: Uint8Array): Uint8Array {
  const header = new Uint8Array(13);
  const view = new DataView(header.buffer);
  view.setUint32(0, width);
  view.setUint32(4, height);
  header.set([8, colorType, 0, 0, 0], 8);
  return concat([
    SIGNATURE,
    pngChunk("IHDR", header),
    pngChunk("IDAT", compressed),
    pngChunk("IEND", new Uint8Array(0)),
  ]);
}

/**
 * Reads the signature and the IHDR chunk only: width, height, bit depth, colour type. Nothing is
 * inflated, so it is safe on any upload, and the first 33 bytes of a file are enough.
 */
export function readPngHeader(bytes: Uint8Array): PngHeader {
  checkSignature(bytes);
  if (bytes.length < 33) throw new PngError("truncated", "truncated PNG: the header is incomplete");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const type = String.fromCharCode(...bytes.subarray(12, 16));
  if (type !== "IHDR" || view.getUint32(8) !== 13)
    throw new PngError("corrupt", "PNG does not start with a valid IHDR chunk");
  if (crc32(bytes.subarray(12, 29)) !== view.getUint32(29))
    throw new PngError("checksum", "PNG chunk CRC mismatch (IHDR)");
  return {
    width: view.getUint32(16),
    height: view.getUint32(20),
    bitDepth: bytes[24]!,
    colorType: bytes[25]!,
    interlaced: bytes[28] !== 0,
  };
}

/**
 * Decodes an 8-bit, non-interlaced grayscale, RGB, palette (with tRNS alpha), grayscale + alpha or
 * RGBA PNG into RGBA. The declared size is checked against `maxPixels` before anything is
 * inflated, and the image data is inflated with a hard output cap of exactly the size the header
 * allows, so a small file cannot make the decoder allocate more than the caller budgeted for.
 */
export function decodePng(bytes: Uint8Array, options: PngDecodeOptions = {}): RgbaImage {
  const plan = decodePlan(bytes, options);
  const { width, height, channels, stride } = plan;
  const raw = inflate(plan.idat, (stride + 1) * height);
  const pixels = new Uint8Array(stride * height);
  for (let y = 0; y < height; y++) unfilterRow(raw, pixels, y, stride, channels);
  const data =
    plan.palette !== undefined && plan.colorType === 3
      ? fromPalette(pixels, plan.palette, plan.paletteAlpha)
      : toRgba(pixels, channels);
  return { width, height, data };
}

/**
 * {@link decodePng} without holding the event loop: the image data is inflated on zlib's thread
 * pool and the rows are unfiltered and turned into RGBA a slice at a time (about 256 KiB of pixels),
 * with a turn of the event loop between slices, so a server decoding a large upload goes on
 * answering its other requests meanwhile. Same checks, same result, same {@link PngError}s (as a
 * rejection).
 */
export async function decodePngAsync(bytes: Uint8Array, options: PngDecodeOptions = {}): Promise<RgbaImage> {
  const plan = decodePlan(bytes, options);
  const { width, height, channels, stride } = plan;
  const raw = await inflateAsync(plan.idat, (stride + 1) * height);
  const pixels = new Uint8Array(stride * height);
  const rows = sliceRows(stride);
  for (let y = 0; y < height; y++) {
    unfilterRow(raw, pixels, y, stride, channels);
    if ((y + 1) % rows === 0) await nextTurn();
  }
  if (plan.palette !== undefined && plan.colorType === 3) {
    const rgba = new Uint8Array(width * height * 4);
    for (let y = 0; y < height; y += rows) {
      paletteRows(
        pixels,
        rgba,
        y * width,
        Math.min(height, y + rows) * width,
        plan.palette,
        plan.paletteAlpha,
      );
      await nextTurn();
    }
    return { width, height, data: rgba };
  }
  if (channels === 4) return { width, height, data: pixels };
  const rgba = new Uint8Array(width * height * 4);
  for (let y = 0; y < height; y += rows) {
    rgbaRows(pixels, rgba, y * width, Math.min(height, y + rows) * width, channels);
    await nextTurn();
  }
  return { width, height, data: rgba };
}

/**
 * An opaque 8-bit grayscale PNG of `gray` (one byte a pixel, row-major), deflated on zlib's thread
 * pool: what a server builds from a large upload without holding the event loop (rows unfiltered,
 * filter type 0, copied a slice at a time).
 */
export async function encodeGrayPngAsync(
  width: number,
  height: number,
  gray: Uint8Array,
): Promise<Uint8Array> {
  if (gray.length !== width * height)
    throw new PngError("invalid-input", "gray data does not match width × height");
  const raw = new Uint8Array((width + 1) * height);
  const rows = sliceRows(width);
  for (let y = 0; y < height; y++) {
    raw.set(gray.subarray(y * width, (y + 1) * width), y * (width + 1) + 1);
    if ((y + 1) % rows === 0) await nextTurn();
  }
  const compressed = await new Promise<Uint8Array>((resolve, reject) =>
    deflate(raw, (error, out) => (error ? reject(error) : resolve(out))),
  );
  return pngFile(width, height, 0, compressed);
}

/** What decoding needs, once the header, the budget and every chunk were checked (nothing inflated). */
function decodePlan(bytes: Uint8Array, options: PngDecodeOptions) {
  const { width, height, bitDepth, colorType, interlaced } = readPngHeader(bytes);
  const channels = CHANNELS[colorType];
  if (bitDepth !== 8 || channels === undefined) {
    throw new PngError(
      "unsupported",
      `unsupported PNG: bit depth ${bitDepth}, colour type ${colorType} (only 8-bit gray, RGB, palette and alpha images are read)`,
    );
  }
  if (interlaced) throw new PngError("unsupported", "unsupported PNG: interlaced images are not read");
  const maxPixels = options.maxPixels ?? DEFAULT_MAX_PIXELS;
  if (width === 0 || height === 0) throw new PngError("corrupt", "PNG declares an empty image");
  if (width * height > maxPixels) {
    throw new PngError(
      "too-large",
      `PNG is ${width}×${height}, more than the ${maxPixels} pixels allowed here; send a smaller image`,
    );
  }
  const { idat, palette, paletteAlpha } = readChunks(bytes);
  if (colorType === 3 && palette === undefined)
    throw new PngError("corrupt", "palette PNG without a PLTE chunk");
  return { width, height, colorType, channels, stride: width * channels, idat, palette, paletteAlpha };
}

/** Unfilters scanline `y` of the inflated `raw` into `pixels` (rows above it already done). */
function unfilterRow(raw: Uint8Array, pixels: Uint8Array, y: number, stride: number, channels: number): void {
  const filter = raw[y * (stride + 1)]!;
  if (filter > 4) throw new PngError("corrupt", `unknown PNG filter type ${filter}`);
  const prior = y > 0 ? pixels.subarray((y - 1) * stride, y * stride) : undefined;
  const src = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
  applyFilter(filter as PngFilter, src, prior, pixels.subarray(y * stride, (y + 1) * stride), channels, true);
}

/** The bit depths each colour type allows (PNG specification, IHDR). */
const BIT_DEPTHS: Record<number, readonly number[]> = {
  0: [1, 2, 4, 8, 16],
  2: [8, 16],
  3: [1, 2, 4, 8],
  4: [8, 16],
  6: [8, 16],
};
/** Adam7's passes: first column and row, column and row steps. */
const ADAM7 = [
  [0, 0, 8, 8],
  [4, 0, 8, 8],
  [0, 4, 4, 8],
  [2, 0, 4, 4],
  [0, 2, 2, 4],
  [1, 0, 2, 2],
  [0, 1, 1, 2],
] as const;

/**
 * Checks that a PNG's image data is whole for the size its header declares, in any bit depth,
 * colour type or interlacing: every chunk's CRC up to IEND, nothing after IEND, and the IDAT stream inflating to
 * exactly the filtered scanlines that size needs (a palette image with its PLTE). Pixels are not
 * unfiltered. Rejects with a {@link PngError}; `maxPixels` bounds what is inflated, as in `decodePng`.
 *
 * The inflating runs on zlib's thread pool and its output is counted, never kept: a gateway checking
 * a large image answer (a 16-bit 1024×1024 RGBA PNG inflates to 8 MiB) goes on serving its streams
 * meanwhile, and holds no more than one output chunk per image.
 */
export async function checkPngImageData(bytes: Uint8Array, options: PngDecodeOptions = {}): Promise<void> {
  const { width, height, bitDepth, colorType, interlaced } = readPngHeader(bytes);
  const channels = CHANNELS[colorType];
  if (channels === undefined || !(BIT_DEPTHS[colorType] ?? []).includes(bitDepth))
    throw new PngError("corrupt", `PNG declares bit depth ${bitDepth} for colour type ${colorType}`);
  if (width === 0 || height === 0) throw new PngError("corrupt", "PNG declares an empty image");
  const maxPixels = options.maxPixels ?? DEFAULT_MAX_PIXELS;
  if (width * height > maxPixels)
    throw new PngError(
      "too-large",
      `PNG is ${width}×${height}, more than the ${maxPixels} pixels allowed here`,
    );
  const bits = channels * bitDepth;
  const scanlines = (w: number, h: number) => (w === 0 || h === 0 ? 0 : h * (1 + Math.ceil((w * bits) / 8)));
  const expected = interlaced
    ? ADAM7.reduce(
        (sum, [x0, y0, dx, dy]) =>
          sum +
          scanlines(Math.max(0, Math.ceil((width - x0) / dx)), Math.max(0, Math.ceil((height - y0) / dy))),
        0,
      )
    : scanlines(width, height);
  const { idat, palette, end, other } = readChunks(bytes);
  if (end !== bytes.length)
    throw new PngError("corrupt", `PNG has ${bytes.length - end} bytes after its IEND chunk (not one PNG)`);
  if (colorType === 3 && palette === undefined)
    throw new PngError("corrupt", "palette PNG without a PLTE chunk");
  const unknown = other.find((chunk) => !STANDARD_ANCILLARY.has(chunk.type));
  if (unknown !== undefined)
    throw new PngError(
      "corrupt",
      `PNG has a ${JSON.stringify(unknown.type)} chunk, which is not a standard one`,
    );
  const ancillary = other.reduce((sum, chunk) => sum + chunk.length, 0);
  if (ancillary > MAX_ANCILLARY_BYTES)
    throw new PngError(
      "too-large",
      `PNG holds ${ancillary} bytes of ancillary chunks, more than the ${MAX_ANCILLARY_BYTES} allowed`,
    );
  const { length, consumed } = await inflatedLength(idat, expected);
  checkInflatedLength(length, expected);
  if (consumed !== idat.length)
    throw new PngError("corrupt", `PNG image data has ${idat.length - consumed} bytes after its zlib stream`);
}

/** Output chunks of the counting inflate: a bound on what one check holds at once. */
const COUNT_CHUNK = 256 * 1024;

/**
 * How many bytes `data` inflates to, counted on zlib's thread pool without keeping them, and how
 * many of its bytes the zlib stream took (fewer than all: bytes after the stream's end); stops
 * (and answers a length past `limit`) as soon as the count passes `limit`. Rejects with a
 * `corrupt` {@link PngError} when the stream is not valid zlib or ends early.
 */
function inflatedLength(data: Uint8Array, limit: number): Promise<{ length: number; consumed: number }> {
  return new Promise((resolve, reject) => {
    const inflater = createInflate({ chunkSize: COUNT_CHUNK });
    let length = 0;
    let over = false;
    inflater.on("data", (chunk: Buffer) => {
      length += chunk.length;
      if (length > limit && !over) {
        over = true;
        inflater.destroy();
        resolve({ length, consumed: data.length });
      }
    });
    inflater.on("error", () => {
      if (!over) reject(inflateFailure());
    });
    inflater.on("end", () => resolve({ length, consumed: inflater.bytesWritten }));
    inflater.end(data);
  });
}

const inflateFailure = () => new PngError("corrupt", "PNG image data is corrupt (it does not inflate)");

/** The inflated length against the exact length the declared size needs. */
function checkInflatedLength(length: number, expected: number): void {
  if (length > expected)
    throw new PngError("too-large", "PNG image data inflates to more than its declared size allows");
  if (length < expected) throw new PngError("corrupt", "PNG image data is too short for its declared size");
}

/** Walks the chunks after IHDR (which `readPngHeader` checked), checking each CRC, up to IEND. */
function readChunks(bytes: Uint8Array) {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const idat: Uint8Array[] = [];
  let palette: Uint8Array | undefined;
  let paletteAlpha: Uint8Array | undefined;
  const other: { readonly type: string; readonly length: number }[] = [];
  for (let at = 33; ; ) {
    if (at + 12 > bytes.length) throw new PngError("truncated", "truncated PNG: no IEND chunk");
    const length = view.getUint32(at);
    if (at + 12 + length > bytes.length) throw new PngError("truncated", "truncated PNG chunk");
    const typeAndData = bytes.subarray(at + 4, at + 8 + length);
    const type = String.fromCharCode(...typeAndData.subarray(0, 4));
    if (crc32(typeAndData) !== view.getUint32(at + 8 + length))
      throw new PngError("checksum", `PNG chunk CRC mismatch (${type})`);
    const body = typeAndData.subarray(4);
    at += 12 + length;
    if (type === "IDAT") idat.push(body);
    else if (type === "PLTE") palette = body;
    else if (type === "IEND") return { idat: concat(idat), palette, paletteAlpha, end: at, other };
    else {
      if (type === "tRNS") paletteAlpha = body;
      other.push({ type, length });
    }
  }
}

/**
 * The ancillary chunks the PNG specification defines (colour, text, time, physical size, EXIF):
 * an answer's PNG holds these and the critical ones only, so nothing rides along in a chunk no
 * viewer reads.
 */
const STANDARD_ANCILLARY = new Set([
  "tRNS",
  "cHRM",
  "gAMA",
  "iCCP",
  "sBIT",
  "sRGB",
  "cICP",
  "mDCV",
  "cLLI",
  "tEXt",
  "zTXt",
  "iTXt",
  "bKGD",
  "hIST",
  "pHYs",
  "sPLT",
  "eXIf",
  "tIME",
]);
/** The most an answer's PNG may hold in ancillary chunks (an engine's generation parameters fit). */
export const MAX_ANCILLARY_BYTES = 256 * 1024;

/** Inflates with a hard cap: a stream that would produce more than `expected` bytes is refused. */
function inflate(data: Uint8Array, expected: number): Uint8Array {
  let out: Uint8Array;
  try {
    out = inflateSync(data, { maxOutputLength: expected });
  } catch (error) {
    if ((error as { code?: unknown }).code === "ERR_BUFFER_TOO_LARGE")
      checkInflatedLength(expected + 1, expected);
    throw inflateFailure();
  }
  checkInflatedLength(out.length, expected);
  return out;
}

/** {@link inflate} on zlib's thread pool. */
function inflateAsync(data: Uint8Array, expected: number): Promise<Uint8Array> {
  return new Promise((resolve, reject) =>
    inflateOnPool(data, { maxOutputLength: expected }, (error, out) => {
      try {
        if (error) {
          if ((error as { code?: unknown }).code === "ERR_BUFFER_TOO_LARGE")
            checkInflatedLength(expected + 1, expected);
          throw inflateFailure();
        }
        checkInflatedLength(out.length, expected);
        resolve(out);
      } catch (e) {
        reject(e);
      }
    }),
  );
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

/** Pixels `from` to `to` (exclusive) of RGBA, written as the samples of `colorType` (not RGBA). */
function sampleRows(
  rgba: Uint8Array,
  out: Uint8Array,
  from: number,
  to: number,
  colorType: PngEncodeColorType,
): void {
  const picks = colorType === 0 ? [0] : colorType === 2 ? [0, 1, 2] : [0, 3];
  for (let p = from, o = from * picks.length; p < to; p++) for (const k of picks) out[o++] = rgba[p * 4 + k]!;
}

function toRgba(pixels: Uint8Array, channels: number): Uint8Array {
  if (channels === 4) return pixels;
  const count = pixels.length / channels;
  const rgba = new Uint8Array(count * 4);
  rgbaRows(pixels, rgba, 0, count, channels);
  return rgba;
}

/** Pixels `from` to `to` (exclusive) of gray, gray + alpha or RGB samples, written as RGBA. */
function rgbaRows(pixels: Uint8Array, rgba: Uint8Array, from: number, to: number, channels: number): void {
  const gray = channels <= 2;
  for (let p = from; p < to; p++) {
    const s = p * channels;
    rgba[p * 4] = pixels[s]!;
    rgba[p * 4 + 1] = gray ? pixels[s]! : pixels[s + 1]!;
    rgba[p * 4 + 2] = gray ? pixels[s]! : pixels[s + 2]!;
    rgba[p * 4 + 3] = channels === 2 ? pixels[s + 1]! : 255;
  }
}

/** Palette indices to RGBA; tRNS gives per-entry alpha, entries past its end are opaque. */
function fromPalette(indices: Uint8Array, palette: Uint8Array, alpha: Uint8Array | undefined): Uint8Array {
  const rgba = new Uint8Array(indices.length * 4);
  paletteRows(indices, rgba, 0, indices.length, palette, alpha);
  return rgba;
}

/** Pixels `from` to `to` (exclusive) of palette indices, written as RGBA. */
function paletteRows(
  indices: Uint8Array,
  rgba: Uint8Array,
  from: number,
  to: number,
  palette: Uint8Array,
  alpha: Uint8Array | undefined,
): void {
  for (let p = from; p < to; p++) {
    const index = indices[p]!;
    if (index * 3 + 2 >= palette.length)
      throw new PngError(
        "corrupt",
        `PNG palette index ${index} is outside its ${palette.length / 3}-entry palette`,
      );
    rgba[p * 4] = palette[index * 3]!;
    rgba[p * 4 + 1] = palette[index * 3 + 1]!;
    rgba[p * 4 + 2] = palette[index * 3 + 2]!;
    rgba[p * 4 + 3] = alpha?.[index] ?? 255;
  }
}

function checkSignature(bytes: Uint8Array): void {
  if (bytes.length < 8 || SIGNATURE.some((b, i) => bytes[i] !== b))
    throw new PngError("not-png", "not a PNG file");
}

/** One PNG chunk: length, type, body and CRC (exported for tests that build unusual files). */
export function pngChunk(type: string, body: Uint8Array): Uint8Array {
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
