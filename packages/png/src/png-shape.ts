import { checkPngImageData, PngError, readPngHeader } from "./png.js";

/** The 12 bytes every PNG ends with: the empty IEND chunk and its CRC. */
const IEND = Uint8Array.of(0, 0, 0, 0, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82);

/**
 * Why `bytes` are not a whole PNG of `width` × `height` (any bit depth, colour type or
 * interlacing), or `undefined` when they are: the signature, a valid IHDR of that size, the IEND
 * chunk at the very end, every chunk's CRC, and image data that inflates to exactly what that size
 * needs (`checkPngImageData`: a header that claims a large picture over a few bytes of data is
 * not one). The pixels themselves are not looked at: they are the evaluator's to judge.
 */
export async function pngMismatch(
  bytes: Uint8Array,
  expected: { readonly width: number; readonly height: number },
): Promise<string | undefined> {
  let header: ReturnType<typeof readPngHeader>;
  try {
    header = readPngHeader(bytes);
  } catch (e) {
    if (e instanceof PngError) return e.message;
    throw e;
  }
  if (header.width !== expected.width || header.height !== expected.height)
    return `is ${header.width}x${header.height}, not the ${expected.width}x${expected.height} asked for`;
  const tail = bytes.subarray(bytes.length - IEND.length);
  if (tail.length !== IEND.length || !tail.every((b, i) => b === IEND[i]))
    return "does not end with the IEND chunk (truncated or not one PNG)";
  try {
    await checkPngImageData(bytes);
  } catch (e) {
    if (e instanceof PngError) return e.message;
    throw e;
  }
  return undefined;
}

/**
 * Why a list of base64 images (an image answer's `b64_json`s) is not all PNGs of `expected`'s
 * size, each in canonical base64 (so nothing rides along that the check did not see), naming the
 * first that is not (`image 1 is 256x256, …`), or `undefined` when all are. The images inflate side
 * by side on zlib's thread pool.
 */
export async function base64PngsMismatch(
  images: readonly unknown[],
  expected: { readonly width: number; readonly height: number },
): Promise<string | undefined> {
  const checks = images.map((b64): string | Promise<string | undefined> => {
    if (typeof b64 !== "string") return "has no b64_json";
    const bytes = Buffer.from(b64, "base64");
    // Decoding skips characters outside the alphabet and stops at padding: what the client gets
    // must be exactly the bytes checked, so the text must be their canonical encoding.
    if (bytes.toString("base64") !== b64) return "is not canonical base64";
    return pngMismatch(bytes, expected);
  });
  const wrong = await Promise.all(checks);
  const first = wrong.findIndex((reason) => reason !== undefined);
  return first === -1 ? undefined : `image ${first} ${wrong[first]}`;
}
