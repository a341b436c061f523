import { decodePngAsync, PngError, readPngHeader } from "@pocket-ai/png";
import { fail, ok, type Result } from "@pocket-ai/protocol";
import { normaliseEditMask } from "./edit-mask.js";

/** Why a base64 PNG's header is refused against a pixel budget, or `undefined` (nothing inflated). */
export function uploadRefusal(field: string, base64: string, budget: number): string | undefined {
  try {
    // 44 base64 characters cover the signature and the IHDR chunk (33 bytes).
    const { width, height } = readPngHeader(Buffer.from(base64.slice(0, 44), "base64"));
    if (width === 0 || height === 0 || width * height > budget)
      return `${field}: ${width}x${height} is outside the upload limit of ${budget} pixels`;
    return undefined;
  } catch (e) {
    return e instanceof PngError ? `${field}: ${e.message}` : `${field}: not a PNG file`;
  }
}

/**
 * The uploads of an image edit, checked in order of cost and only after the key was admitted
 * (authenticated, budget and rate reserved): the headers' dimensions against the pixel budget,
 * then decoding under that budget, each inflate capped at what the header's dimensions need — the
 * image with the codec nodes use (so a node never gets an image it cannot read and fails for the
 * caller), the mask turned into the opaque mask nodes read. Returns the body to relay. The decoding
 * runs a slice at a time (`decodePngAsync`), so a large or crafted upload does not hold the event
 * loop that every other request of the gateway waits on; it never rejects.
 */
export async function admitUploads(
  body: Record<string, unknown>,
  budget: number,
): Promise<Result<Record<string, unknown>>> {
  const image = body.image;
  const mask = body.mask;
  if (typeof image === "string") {
    const refused = uploadRefusal("image", image, budget);
    if (refused !== undefined) return fail("INVALID_REQUEST", refused, "image");
    try {
      await decodePngAsync(Buffer.from(image, "base64"), { maxPixels: budget });
    } catch (e) {
      return fail(
        "INVALID_REQUEST",
        e instanceof PngError ? `image: ${e.message}` : "image: unreadable PNG",
        "image",
      );
    }
  }
  if (typeof mask !== "string") return ok(body);
  const refused = uploadRefusal("mask", mask, budget);
  if (refused !== undefined) return fail("INVALID_REQUEST", refused, "mask");
  try {
    return ok({ ...body, mask: (await normaliseEditMask(Buffer.from(mask, "base64"))).toString("base64") });
  } catch (e) {
    return fail(
      "INVALID_REQUEST",
      e instanceof PngError ? `mask: ${e.message}` : "mask: unreadable PNG",
      "mask",
    );
  }
}
