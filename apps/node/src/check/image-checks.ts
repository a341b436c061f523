import { encodePng } from "@pocket-ai/png";
import { Effect } from "effect";
import type { Backend, BackendCapabilities } from "../backends/backend.js";
import { no, type Run, yes } from "./check-finding.js";

function solidPng(width: number, height: number, value: number): string {
  const data = new Uint8Array(width * height * 4).fill(value);
  for (let p = 3; p < data.length; p += 4) data[p] = 255;
  return Buffer.from(encodePng({ width, height, data })).toString("base64");
}

export function probeImages(declared: BackendCapabilities, backend: Backend, run: Run) {
  const images = declared.images;
  const source = solidPng(64, 64, 128);
  const common = { prompt: "a plain grey square", n: 1, steps: 2, seed: 1 };
  const gotImage = (response: Record<string, unknown>) => {
    const data = Array.isArray(response.data) ? (response.data as { b64_json?: unknown }[]) : [];
    const b64 = data[0]?.b64_json;
    return typeof b64 === "string" && b64.startsWith("iVBORw0KGgo")
      ? yes("PNG returned")
      : no("no PNG in the answer");
  };
  return Effect.gen(function* () {
    yield* run(
      "images: generate",
      images?.generate ?? false,
      Effect.map(backend.imagesGenerations({ ...common, size: "64x64" }), gotImage),
    );
    yield* run(
      "images: img2img",
      images?.img2img ?? false,
      Effect.map(backend.imagesEdits({ ...common, image: source, strength: 0.5 }), gotImage),
    );
    yield* run(
      "images: inpaint",
      images?.inpaint ?? false,
      Effect.map(backend.imagesEdits({ ...common, image: source, mask: solidPng(64, 64, 255) }), gotImage),
    );
    const padding = { top: 0, right: 16, bottom: 0, left: 16 };
    yield* run(
      "images: outpaint",
      images?.outpaint ?? false,
      Effect.map(backend.imagesEdits({ ...common, image: source, padding, size: "96x64" }), gotImage),
    );
  });
}
