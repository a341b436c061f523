import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Effect, Exit, Scope } from "effect";
import OpenAI from "openai";
import { type RunningLocalnet, startLocalnet } from "../src/localnet.js";
import { LocalnetConfig } from "../src/localnet-config.js";

/** The local network on free ports in a temp folder, with short sessions so settlement happens within a test. */
export async function startTestNetwork(overrides: Record<string, unknown> = {}) {
  const config = LocalnetConfig.parse({
    dataDir: mkdtempSync(join(tmpdir(), "pocket-localnet-")),
    ports: { gateway: 0, evaluator: 0, nodes: [0, 0, 0] },
    session: { mode: "time", genesisMs: 0, sessionLengthMs: 3_000, graceMs: 1_000 },
    evaluation: { enabled: false },
    logLevel: "error",
    ...overrides,
  });
  const scope = Effect.runSync(Scope.make());
  const net: RunningLocalnet = await Effect.runPromise(Scope.extend(startLocalnet(config), scope));
  const client = new OpenAI({ baseURL: net.baseUrl, apiKey: net.apiKey, maxRetries: 0 });
  return { net, client, config, stop: () => Effect.runPromise(Scope.close(scope, Exit.void)) };
}

/** A small valid RGBA PNG: a gradient, or a mask whose right half is transparent (OpenAI: edit there). */
export async function makePng(width: number, height: number, kind: "image" | "mask"): Promise<Buffer> {
  const { encodePng } = await import("@pocket-ai/png");
  const data = new Uint8Array(width * height * 4);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 4;
      if (kind === "image") {
        data[i] = (x * 255) / width;
        data[i + 1] = (y * 255) / height;
        data[i + 2] = 128;
        data[i + 3] = 255;
      } else {
        data[i + 3] = x < width / 2 ? 255 : 0;
      }
    }
  return Buffer.from(encodePng({ width, height, data }));
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
