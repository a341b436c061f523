import { type Backend, type BackendError, parseSize, resizeRgba } from "@pocket-ai/node";
import { decodePng, encodePng, type RgbaImage } from "@pocket-ai/png";
import { Effect } from "effect";

/**
 * Faulty image nodes the evaluator must catch, each wrapping an honest dev image backend:
 * `blank` answers a flat grey picture of the asked size; `wrongSize` ignores `size` and always
 * paints 160×160; `ignoreSeed` drops the seed, so every call starts from fresh noise; `cached`
 * paints once and then serves that picture for every prompt, resized to the asked size.
 */
export type ImageFault = "blank" | "wrongSize" | "ignoreSeed" | "cached";

type Body = Record<string, unknown>;
const askedSize = (body: Body) => parseSize(body.size) ?? { width: 512, height: 512 };

const answer = (image: RgbaImage): Body => ({
  created: Math.floor(Date.now() / 1000),
  data: [{ b64_json: Buffer.from(encodePng(image)).toString("base64") }],
});

function firstImage(response: Body): RgbaImage {
  const data = response.data as { b64_json: string }[];
  return decodePng(Buffer.from(data[0]!.b64_json, "base64"));
}

/** The `imagesGenerations` of a node with `fault`; `cached` keeps its picture per node. */
export function faultyImages(
  fault: ImageFault,
  backend: Backend,
): (body: Body) => Effect.Effect<Body, BackendError> {
  let kept: RgbaImage | undefined;
  switch (fault) {
    case "blank":
      return (body) =>
        Effect.sync(() => {
          const { width, height } = askedSize(body);
          const data = new Uint8Array(width * height * 4).fill(128);
          for (let p = 3; p < data.length; p += 4) data[p] = 255;
          return answer({ width, height, data });
        });
    case "wrongSize":
      return (body) => backend.imagesGenerations({ ...body, size: "160x160" });
    case "ignoreSeed":
      return ({ seed: _ignored, ...body }) => backend.imagesGenerations(body);
    case "cached":
      return (body) => {
        const { width, height } = askedSize(body);
        if (kept !== undefined) return Effect.succeed(answer(resizeRgba(kept, width, height)));
        return Effect.map(backend.imagesGenerations(body), (response) => {
          kept = firstImage(response);
          return response;
        });
      };
  }
}
