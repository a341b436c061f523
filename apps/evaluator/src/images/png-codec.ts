/**
 * The PNG codec the evaluator reads probe answers with. It is the development backend's codec
 * (`apps/node/src/backends/dev/png.ts`, pure TypeScript over node:zlib), imported by relative
 * path until it moves to a shared package; this file is the one place that path appears.
 */
export {
  decodePng,
  encodePng,
  PngError,
  type RgbaImage,
} from "../../../node/src/backends/dev/png.js";
