import {
  type Catalog,
  createNodeAnnouncement,
  DEFAULT_CATALOG,
  generateKeyPair,
  NodeAnnouncement,
  type NodeCapabilities,
  type NodeTokenizer,
  resolveModelName,
} from "@pocket-ai/protocol";
import { describe, expect, it } from "vitest";
import { dispatchRequest } from "../../test/support/test-requests.js";
import { type RegisteredNode, toRegistered } from "../registry/registered-node.js";
import { servedTierShortfall } from "../relay/route-tokens.js";
import { planRoutes } from "./route-plan.js";
import { RoutingConfig } from "./routing-config.js";

/** The default catalog, with `mistral-7b` served under small limits (as a small model's service would be). */
const SMALL = { maxInputTokens: 50, maxOutputTokens: 100 };
const catalog: Catalog = {
  ...DEFAULT_CATALOG,
  services: DEFAULT_CATALOG.services.map((s) =>
    s.id === "mistral-7b" && s.kind === "text"
      ? { ...s, tiers: s.tiers.map((t) => ({ ...t, limits: { ...SMALL } })) }
      : s,
  ),
};

const capabilities: NodeCapabilities = {
  completions: true,
  chat: true,
  streaming: true,
  promptLogprobs: false,
  logprobs: false,
  seed: false,
  tokenize: false,
  images: null,
};

/** A registered node serving one text service on the standard tier. */
function nodeServing(serviceId: string, tokenizer: NodeTokenizer): RegisteredNode {
  const announcement = createNodeAnnouncement(
    {
      endpoint: "http://127.0.0.1:9/trpc",
      services: [
        {
          serviceId,
          tiers: ["standard"],
          model: { declared: serviceId, quantization: "none" },
          capabilities,
          tokenizer,
        },
      ],
      hardware: { gpu: "none", vramGb: 0, cpuOnly: true },
      software: { name: "test", version: "1" },
      issuedAt: 1,
    },
    generateKeyPair(),
  );
  return toRegistered(catalog, NodeAnnouncement.parse(announcement), 1, 1);
}

const big = nodeServing("llama-2-13b", { kind: "llama-2", exact: true });
// A node that only estimates its counts: the gateway bounds its input between words and bytes.
const small = nodeServing("mistral-7b", { kind: "estimate", exact: false });
const nodes = [big, small];
const sources = {
  config: RoutingConfig.parse({}),
  catalog,
  candidates: (serviceId: string) => nodes.filter((n) => n.offers.has(serviceId)),
  sessionNodes: (_: string, candidates: readonly RegisteredNode[]) => candidates,
  // Both qualify for quality-gpt-3.5 (200 input and 1000 output tokens on /v1/models), each under its model.
  qualifying: () => [
    { address: big.address, serviceId: "llama-2-13b" },
    { address: small.address, serviceId: "mistral-7b" },
  ],
  get: (address: string) => nodes.find((n) => n.address === address),
};

const plan = (body: Record<string, unknown>, operation: "completions" | "chat.completions" = "completions") =>
  planRoutes(
    sources,
    dispatchRequest("quality-gpt-3.5", body, { operation }),
    Date.UTC(2026, 11, 6),
    false,
  ).map((r) => r.node.address);

describe("a quality relay's routes", () => {
  it("go to every qualifying node whose own tier takes the request whole", () => {
    expect(plan({ prompt: "Hi", max_tokens: 100 })).toEqual([big.address, small.address]);
  });

  it("leave out a node whose tier would cut the output short, asked for or by default", () => {
    expect(plan({ prompt: "Hi", max_tokens: 101 })).toEqual([big.address]);
    // No max_tokens: the quality tier's 1000, which the small tier would cut to 100.
    expect(plan({ prompt: "Hi" })).toEqual([big.address]);
    expect(
      plan({ messages: [{ role: "user", content: "Hi" }], max_completion_tokens: 500 }, "chat.completions"),
    ).toEqual([big.address]);
    // Two prompts of 60 each: the small tier's 100 leaves 50 a choice.
    expect(plan({ prompt: ["Hi", "Ho"], max_tokens: 60 })).toEqual([big.address]);
    expect(plan({ prompt: ["Hi", "Ho"], max_tokens: 50 })).toEqual([big.address, small.address]);
  });

  it("leave out a node for a prompt provably over its input limit, not one the gateway can only bound", () => {
    // 60 words: at least 60 tokens for any tokenizer, over the small tier's 50.
    expect(plan({ prompt: Array(60).fill("word").join(" "), max_tokens: 10 })).toEqual([big.address]);
    // 30 long words: over 50 by bytes, not provably over by words; the node counts (and may refuse).
    expect(plan({ prompt: Array(30).fill("information").join(" "), max_tokens: 10 })).toEqual([
      big.address,
      small.address,
    ]);
  });

  it("say what falls short, naming the field to change", () => {
    const request = dispatchRequest("quality-gpt-3.5", { prompt: "Hi", max_tokens: 300 });
    const [, smallRoute] = planRoutes(sources, request, Date.UTC(2026, 11, 6), false, true);
    expect(smallRoute?.node.address).toBe(small.address);
    expect(servedTierShortfall(smallRoute!, request)).toEqual({
      what: "300 output tokens per choice: at most 100 now, ask for less",
      param: "max_tokens",
      available: 100,
    });
    const long = dispatchRequest(
      "quality-gpt-3.5",
      { messages: [{ role: "user", content: Array(70).fill("word").join(" ") }], max_tokens: 5 },
      { operation: "chat.completions" },
    );
    const [, longRoute] = planRoutes(sources, long, Date.UTC(2026, 11, 6), false, true);
    expect(servedTierShortfall(longRoute!, long)).toMatchObject({ param: "messages" });
  });

  it("are not filtered for a model-named relay: the front door checked its own tier's limits", () => {
    const request = dispatchRequest("mistral-7b", { prompt: "Hi", max_tokens: 900 });
    expect(planRoutes(sources, request, Date.UTC(2026, 11, 6), false).map((r) => r.node.address)).toEqual([
      small.address,
    ]);
  });
});

describe("the tier a route serves a relay under", () => {
  const at = Date.UTC(2026, 11, 6);
  /** The routes' (node, served service, tier, weight) for `model`, sold and planned by `planned`'s catalog. */
  const servedTiers = (model: string, planned = sources) => {
    const target = resolveModelName(planned.catalog, model);
    if (!target.ok) throw new Error(target.error.message);
    const request = { ...dispatchRequest(model, { prompt: "Hi", max_tokens: 10 }), target: target.value };
    return planRoutes(planned, request, at, false).map((r) => [
      r.node.address,
      r.servedServiceId,
      r.servedTier.id,
      r.servedTier.computeUnitsPerRelay,
    ]);
  };

  it("is the tier sold, on a node registered for a dearer tier that covers it, weighed as sold", () => {
    // Both nodes registered their model's standard tier only (750 per call).
    expect(servedTiers("quality-gpt-3.5:batch")).toEqual([
      [big.address, "llama-2-13b", "batch", 500],
      [small.address, "mistral-7b", "batch", 500],
    ]);
    expect(servedTiers("llama-2-13b:batch")).toEqual([[big.address, "llama-2-13b", "batch", 500]]);
    expect(servedTiers("quality-gpt-3.5")).toEqual([
      [big.address, "llama-2-13b", "standard", 750],
      [small.address, "mistral-7b", "standard", 750],
    ]);
    // A dearer tier than any registered one is not served by them.
    expect(servedTiers("llama-2-13b:long-context")).toEqual([]);
  });

  it("never weighs more than the tier sold: a node with no tier that light is no route", () => {
    // An operator's catalog that sells quality batch calls at 400: neither llama-2-13b's batch
    // (500) nor its standard tier (750) may serve them.
    const cheap: Catalog = {
      ...catalog,
      services: catalog.services.map((s) =>
        s.id === "quality-gpt-3.5" && s.kind === "text"
          ? { ...s, tiers: s.tiers.map((t) => (t.id === "batch" ? { ...t, computeUnitsPerRelay: 400 } : t)) }
          : s,
      ),
    };
    expect(servedTiers("quality-gpt-3.5:batch", { ...sources, catalog: cheap })).toEqual([]);
    // quality-gpt-4 sells its batch tier at 2000: served under the model's batch tier, lighter still.
    const onlyBig = { ...sources, qualifying: () => [{ address: big.address, serviceId: "llama-2-13b" }] };
    expect(servedTiers("quality-gpt-4:batch", onlyBig)).toEqual([[big.address, "llama-2-13b", "batch", 500]]);
  });
});
