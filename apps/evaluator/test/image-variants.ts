import type { DevImageEngine } from "@pocket-ai/node/fakes";
import { decodePng, encodePng } from "@pocket-ai/png";

/**
 * Image engines for the reference comparison, each built on the dev image engine:
 * `otherWeights` is a different model of the same family — the same prompt picks the same palette,
 * but the seed's noise is turned into another composition, as other weights would; `reencoded` is
 * an honest node whose pictures pass through a lossy step (every pixel moved by up to ±`levels`, a
 * fixed pattern per picture), as a re-encoding or a GPU that is not bit-exact does.
 */
export function otherWeights(engine: DevImageEngine): DevImageEngine {
  const remap = (seed: number | undefined) =>
    seed === undefined ? undefined : (Math.imul(seed ^ 0x5bd1e995, 0x27d4eb2d) >>> 1) % 2 ** 31;
  return {
    info: engine.info,
    generate: (request, signal) => engine.generate({ ...request, seed: remap(request.seed) }, signal),
    edit: (request, signal) => engine.edit({ ...request, seed: remap(request.seed) }, signal),
  };
}

export function reencoded(engine: DevImageEngine, levels: number): DevImageEngine {
  const lossy = (png: Uint8Array, salt: number) => {
    const image = decodePng(png);
    const data = image.data.map((v, i) => {
      if (i % 4 === 3) return v;
      const h = Math.imul(i ^ salt, 0x9e3779b1) >>> 0;
      return Math.max(0, Math.min(255, v + (h % (2 * levels + 1)) - levels));
    });
    return encodePng({ ...image, data });
  };
  const through = <R extends { images: Uint8Array[]; seeds: number[] }>(result: R): R => ({
    ...result,
    images: result.images.map((png, i) => lossy(png, result.seeds[i] ?? i)),
  });
  return {
    info: engine.info,
    generate: async (request, signal) => through(await engine.generate(request, signal)),
    edit: async (request, signal) => through(await engine.edit(request, signal)),
  };
}
