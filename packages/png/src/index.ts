export {
  checkPngImageData,
  DEFAULT_MAX_PIXELS,
  decodePng,
  decodePngAsync,
  encodeGrayPngAsync,
  encodePng,
  encodePngAsync,
  type PngColorType,
  type PngDecodeOptions,
  type PngEncodeColorType,
  type PngEncodeOptions,
  PngError,
  type PngErrorReason,
  type PngFilter,
  type PngHeader,
  type RgbaImage,
  readPngHeader,
} from "./png.js";
export { base64PngsMismatch, pngMismatch } from "./png-shape.js";
export { resizeRgba, resizeRgbaAsync } from "./resize.js";
export { inRowBands, SLICE_BYTES } from "./row-bands.js";
