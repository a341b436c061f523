/** The PNG codec the evaluator reads probe answers with: the runtime package's (pure TypeScript over node:zlib). */
export {
  decodePng,
  encodePng,
  PngError,
  type RgbaImage,
} from "@pocket-ai/runtime";
