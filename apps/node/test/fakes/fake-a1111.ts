import type { ServerResponse } from "node:http";
import { encodePng } from "@pocket-ai/png";
import {
  type FakeServerBase,
  type RecordedRequest,
  sendJson,
  sleep,
  startFakeServer,
} from "./fake-server.js";
import { hashText } from "./fake-text-model.js";

export interface FakeA1111Faults {
  /** Answer generation calls with this status (FastAPI's `{detail}` body); `times` then recover. */
  fail: { status: number; detail?: string; times?: number } | null;
  /** `/sdapi/v1/options` and `/sdapi/v1/sd-models` answer 503 while set. */
  unhealthy: boolean;
  /** Wait before answering generation calls. */
  delayMs: number;
  /** Answer generation calls with at most this many images (an engine that made fewer than asked). */
  maxImages: number | null;
  /** Answer generation calls with images half the width asked (an engine that ignores the size). */
  halfWidth: boolean;
  /** Answer with base64 wrapped in 76-character lines, as MIME encoders write it. */
  wrapBase64: boolean;
}

export interface FakeA1111 extends FakeServerBase {
  readonly faults: FakeA1111Faults;
  /** The body of the last call to `path` (`"/sdapi/v1/img2img"`), for request-shape assertions. */
  readonly lastBody: (path: string) => Record<string, unknown> | undefined;
}

/** A flat-coloured PNG whose colour follows the seed, so different seeds give different files. */
function solidPng(width: number, height: number, seed: number): string {
  const data = new Uint8Array(width * height * 4);
  const colour = hashText(String(seed));
  for (let p = 0; p < data.length; p += 4) {
    data[p] = colour & 0xff;
    data[p + 1] = (colour >>> 8) & 0xff;
    data[p + 2] = (colour >>> 16) & 0xff;
    data[p + 3] = 255;
  }
  return Buffer.from(encodePng({ width, height, data })).toString("base64");
}

/** Starts a fake AUTOMATIC1111 API on 127.0.0.1 and a free port. */
export async function startFakeA1111(): Promise<FakeA1111> {
  const faults: FakeA1111Faults = {
    fail: null,
    unhealthy: false,
    delayMs: 0,
    maxImages: null,
    halfWidth: false,
    wrapBase64: false,
  };
  let randomSeed = 1000;

  const generate = (body: Record<string, unknown>, response: ServerResponse) => {
    const width = typeof body.width === "number" ? body.width : 512;
    const height = typeof body.height === "number" ? body.height : 512;
    const count =
      (typeof body.batch_size === "number" ? body.batch_size : 1) *
      (typeof body.n_iter === "number" ? body.n_iter : 1);
    const first = typeof body.seed === "number" && body.seed >= 0 ? body.seed : randomSeed++;
    const seeds = Array.from({ length: count }, (_, i) => first + i);
    const images = seeds
      .slice(0, faults.maxImages ?? seeds.length)
      .map((seed) => solidPng(faults.halfWidth ? width / 2 : width, height, seed))
      .map((b64) => (faults.wrapBase64 ? (b64.match(/.{1,76}/g) ?? []).join("\n") : b64));
    // Like A1111 with inpainting masks shown: an extra image the adapter must not return.
    if (body.mask !== undefined) images.push(solidPng(width, height, 0));
    const info = JSON.stringify({ seed: first, all_seeds: seeds, width, height });
    sendJson(response, 200, { images, parameters: body, info });
  };

  const route = async (request: RecordedRequest, response: ServerResponse) => {
    const body = (typeof request.body === "object" && request.body !== null ? request.body : {}) as Record<
      string,
      unknown
    >;
    const key = `${request.method} ${request.path}`;
    if (key === "GET /sdapi/v1/options" || key === "GET /sdapi/v1/sd-models") {
      if (faults.unhealthy) return sendJson(response, 503, { detail: "loading" });
      if (key === "GET /sdapi/v1/options")
        return sendJson(response, 200, { sd_model_checkpoint: "fake-sd15.safetensors" });
      return sendJson(response, 200, [{ title: "fake-sd15.safetensors [abc]", model_name: "fake-sd15" }]);
    }
    if (key !== "POST /sdapi/v1/txt2img" && key !== "POST /sdapi/v1/img2img") {
      return sendJson(response, 404, { detail: "Not Found" });
    }
    const fail = faults.fail;
    if (fail !== null) {
      if (fail.times !== undefined) faults.fail = fail.times <= 1 ? null : { ...fail, times: fail.times - 1 };
      return sendJson(response, fail.status, { detail: fail.detail ?? "injected failure" });
    }
    if (faults.delayMs > 0) await sleep(faults.delayMs);
    if (!response.destroyed) generate(body, response);
  };

  const base = await startFakeServer(route);
  return {
    ...base,
    faults,
    lastBody: (path) => {
      const last = base.requests.filter((request) => request.path === path).at(-1);
      return last?.body as Record<string, unknown> | undefined;
    },
  };
}
