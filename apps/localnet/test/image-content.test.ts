import { CONTENT_CHECKS, contentProbe, makeOpenAiTransport } from "@pocket-ai/evaluator";
import { Effect } from "effect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadState } from "../src/localnet-state.js";
import { startTestNetwork } from "./e2e-helpers.js";

let t: Awaited<ReturnType<typeof startTestNetwork>>;
beforeAll(async () => {
  t = await startTestNetwork();
}, 60_000);
afterAll(async () => {
  await t?.stop();
});

describe("the evaluator's image content probes through the real gateway", () => {
  it("pass an honest image node: colour, img2img strengths, inpainting mask and outpainting padding arrive", async () => {
    const evaluatorKey = loadState(t.config.dataDir).evaluator!.secret;
    const transport = makeOpenAiTransport({
      baseUrl: t.net.baseUrl,
      apiKey: evaluatorKey,
      timeoutMs: 60_000,
      headers: {},
    });
    // "alpha" is the local network's image node.
    const imageNode = t.net.nodes.find((n) => n.name === "alpha")!;
    const limits = { maxWidth: 1024, maxHeight: 1024, maxSteps: 50, minSide: 64, maxSide: 128 };
    const ctx = {
      seed: 42,
      node: { address: imageNode.node.key.address, model: "stable-diffusion" },
      transport,
      limits,
    };
    for (const check of CONTENT_CHECKS) {
      for (const index of [0, 1]) {
        const row = await Effect.runPromise(contentProbe(ctx, check, index));
        expect(row, `${check}/${index}`).toMatchObject({
          status: "scored",
          checks: { [check]: true },
          score: 1,
        });
      }
    }
  });
});
