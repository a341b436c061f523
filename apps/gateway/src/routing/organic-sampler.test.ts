import { DEFAULT_CATALOG, resolveModelName } from "@pocket-ai/protocol";
import { describe, expect, it } from "vitest";
import type { DispatchRequest } from "../relay/dispatcher.js";
import { OrganicSampler } from "./organic-sampler.js";

const target = resolveModelName(DEFAULT_CATALOG, "llama-2-13b");
if (!target.ok) throw new Error("catalog");
const request = (app: string, body: Record<string, unknown> = {}): DispatchRequest => ({
  application: { id: app, address: "pokt1app" },
  keyId: "key",
  target: target.value,
  operation: "completions",
  body: { model: "llama-2-13b", prompt: "Hello", max_tokens: 8, ...body },
});
const payload = { choices: [{ text: " world" }] };
const served = { nodeAddress: "pokt1node", servedServiceId: "llama-2-13b" };
const settings = { share: 1, optOut: ["app_quiet"], heldMs: 1_000, maxHeld: 3 };

describe("organic sampler", () => {
  it("skips opted-out applications, echo requests and pinned probes; forgets after heldMs", () => {
    const sampler = new OrganicSampler(settings);
    sampler.offer(request("app_quiet"), payload, served, 0);
    // Opted out in the portal: the application's keys carry it.
    sampler.offer(
      { ...request("app_b"), application: { id: "app_b", address: "pokt1b", organicChecks: false } },
      payload,
      served,
      0,
    );
    sampler.offer(request("app_a", { echo: true, logprobs: 1 }), payload, served, 0);
    sampler.offer({ ...request("app_a"), targetNode: "pokt1node" }, payload, served, 0);
    expect(sampler.take("pokt1node", 10, 0)).toEqual([]);
    sampler.offer(request("app_a"), payload, served, 0);
    expect(sampler.take("pokt1node", 10, 2_000)).toEqual([]);
  });

  it("samples its share and keeps at most maxHeld", () => {
    let i = 0;
    const draws = [0.5, 0.01, 0.9, 0.019];
    const sampler = new OrganicSampler({ ...settings, share: 0.02 }, () => draws[i++ % draws.length]!);
    for (let k = 0; k < 4; k++) sampler.offer(request("app_a"), payload, served, 0);
    expect(sampler.take("pokt1node", 10, 0)).toHaveLength(2);
    const all = new OrganicSampler(settings);
    for (let k = 0; k < 5; k++) all.offer(request("app_a"), payload, served, 0);
    expect(all.take("pokt1node", 10, 0)).toHaveLength(3);
  });
});
