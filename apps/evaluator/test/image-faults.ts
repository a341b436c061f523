import { createHash } from "node:crypto";
import type { Backend, BackendError } from "@pocket-ai/node/fakes";
import { decodePng, encodePng, type RgbaImage, resizeRgba } from "@pocket-ai/png";
import { Effect } from "effect";

/**
 * Faulty image nodes the evaluator must catch, each wrapping an honest dev image backend:
 * `blank` answers a flat grey picture of the asked size; `wrongSize` ignores `size` and always
 * paints 160×160; `ignoreSeed` drops the seed, so every call starts from fresh noise; `cached`
 * paints once and then serves that picture for every prompt, resized to the asked size; `noise`
 * has no model at all: pixel noise keyed on (prompt, seed, size), for generations and edits alike
 * (it passes every check that looks only at files, hashes and repeats).
 */
export type ImageFault = "blank" | "wrongSize" | "ignoreSeed" | "cached" | "noise";

type Body = Record<string, unknown>;
/** The request's `"WxH"` size, 512×512 when absent. */
function askedSize(body: Body): { width: number; height: number } {
  const match = typeof body.size === "string" ? /^(\d+)x(\d+)$/.exec(body.size) : null;
  return match === null ? { width: 512, height: 512 } : { width: Number(match[1]), height: Number(match[2]) };
}

const answer = (image: RgbaImage): Body => ({
  created: Math.floor(Date.now() / 1000),
  data: [{ b64_json: Buffer.from(encodePng(image)).toString("base64") }],
});

function firstImage(response: Body): RgbaImage {
  const data = response.data as { b64_json: string }[];
  return decodePng(Buffer.from(data[0]!.b64_json, "base64"));
}

type Call = (body: Body) => Effect.Effect<Body, BackendError>;

/** Pixel noise of the asked size, the same for the same prompt, seed and size. */
function noiseImage(body: Body): RgbaImage {
  const { width, height } = askedSize(body);
  const data = new Uint8Array(width * height * 4);
  let block = createHash("sha256")
    .update(`${String(body.prompt)}|${String(body.seed)}|${width}x${height}`)
    .digest();
  for (let p = 0; p < data.length; p += 4) {
    if (p % 32 === 0) block = createHash("sha256").update(block).digest();
    data[p] = block[p % 32]!;
    data[p + 1] = block[(p + 1) % 32]!;
    data[p + 2] = block[(p + 2) % 32]!;
    data[p + 3] = 255;
  }
  return { width, height, data };
}

/**
 * The image calls of a node with `fault`: generations always, edits when the fault touches them
 * (otherwise the honest backend edits); `cached` keeps its picture per node.
 */
export function faultyImages(fault: ImageFault, backend: Backend): { generations: Call; edits?: Call } {
  if (fault === "noise") {
    const call: Call = (body) => Effect.sync(() => answer(noiseImage(body)));
    return { generations: call, edits: call };
  }
  return { generations: faultyGenerations(fault, backend) };
}

function faultyGenerations(fault: Exclude<ImageFault, "noise">, backend: Backend): Call {
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
