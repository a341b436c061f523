import { decodePngAsync, PngError, readPngHeader } from "@pocket-ai/png";
import { fail, ok, type Result } from "@pocket-ai/protocol";
import { normaliseEditMask } from "./edit-mask.js";
import type { UploadDecodes } from "./upload-decodes.js";

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
 * loop that every other request of the gateway waits on, and in one of the process's few decoding
 * slots (`decodes`): `UPLOADS_BUSY` when none is free and the queue for them is full, or when the
 * caller's `application` already holds its share of them. It never rejects, unless `signal`
 * aborts while it waits for a slot.
 */
export async function admitUploads(
  body: Record<string, unknown>,
  budget: number,
  decodes: UploadDecodes,
  application: string,
  signal?: AbortSignal,
): Promise<Result<Record<string, unknown>>> {
  const image = body.image;
  const mask = body.mask;
  for (const [field, upload] of [
    ["image", image],
    ["mask", mask],
  ] as const) {
    const refused = typeof upload === "string" ? uploadRefusal(field, upload, budget) : undefined;
    if (refused !== undefined) return fail("INVALID_REQUEST", refused, field);
  }
  if (typeof image !== "string" && typeof mask !== "string") return ok(body);
  const decoded = await decodes.run(application, () => decodeUploads(body, budget), signal);
  if (decoded.busy === false) return decoded.value;
  return fail(
    "UPLOADS_BUSY",
    decoded.busy === "application"
      ? `this application's own image edits already hold ${decoded.held} of this gateway's decoding slots and queue places, the most one application may: it is these edits this one would wait on; retry after the delay in Retry-After, or once some of them are answered`
      : "every image-decoding slot of this gateway is taken and the queue for them is full; retry after the delay in Retry-After",
  );
}

/** The decoding half of {@link admitUploads}: the headers passed already. */
async function decodeUploads(
  body: Record<string, unknown>,
  budget: number,
): Promise<Result<Record<string, unknown>>> {
  const image = body.image;
  const mask = body.mask;
  if (typeof image === "string") {
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
