import { base64PngsMismatch } from "@pocket-ai/png";
import { Effect } from "effect";
import { BackendRejected } from "../backends/backend.js";

/**
 * An image call's answer holds exactly the `n` images asked for, each a whole PNG of the size
 * asked: the gateway pays for, and refuses anything but, that, so an engine that made fewer, or
 * another size, is a backend fault the node reports rather than an answer it signs. The images
 * are returned in canonical base64, which is all the gateway accepts.
 */
export function checkImages(
  payload: Record<string, unknown>,
  asked: {
    readonly images: number;
    readonly imageSize?: { readonly width: number; readonly height: number } | undefined;
  },
  backend: string,
): Effect.Effect<Record<string, unknown>, BackendRejected> {
  const fault = (reason: string) => Effect.fail(new BackendRejected({ backend, status: 502, reason }));
  const data = Array.isArray(payload.data) ? (payload.data as unknown[]) : [];
  if (data.length !== asked.images)
    return fault(`the engine returned ${data.length} images for ${asked.images} asked`);
  const size = asked.imageSize;
  if (size === undefined) return Effect.succeed(payload);
  // Re-encoded canonically (an engine may wrap its base64 in lines): the gateway takes only that.
  const images = data.map((item) => {
    const b64 = (item as { b64_json?: unknown } | null)?.b64_json;
    return typeof b64 === "string" ? Buffer.from(b64, "base64").toString("base64") : b64;
  });
  // Inflated on zlib's thread pool: the node's other relays and streams go on meanwhile.
  return Effect.flatMap(
    Effect.promise(() => base64PngsMismatch(images, size)),
    (wrong): Effect.Effect<Record<string, unknown>, BackendRejected> =>
      wrong !== undefined
        ? fault(`the engine's ${wrong}`)
        : Effect.succeed({
            ...payload,
            data: data.map((item, i) => ({ ...(item as object), b64_json: images[i] })),
          }),
  );
}
