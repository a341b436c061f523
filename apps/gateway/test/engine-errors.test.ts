import { type FakeTextEngine, startFakeVllm } from "@pocket-ai/node/fakes";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { refusal } from "./support/api-refusal.js";
import { type LiveNetwork, nodeBlame, startLiveNetwork } from "./support/live-network.js";

/**
 * (The fake engines write words from a small list and count each as one token; the gateway counts
 * delivered text with the Llama 2 tokenizer, so answers here ask for one token, or use a seed, to
 * stay within what the gateway allows.)
 *
 * Engines' own errors through a real gateway and real nodes in front of fake engines that answer
 * as vLLM and TGI do, driven by the official `openai` client with its default retries: an engine's
 * 400 reaches the client as a 400 with the engine's cleaned reason, once (no other node, no SDK
 * retry, no sanction); an engine's 5xx is retried on another node; TGI's `eos_token` is `stop`.
 */

let net: LiveNetwork;
let tgiNet: LiveNetwork;
const vllm: FakeTextEngine[] = [];
let tgi: FakeTextEngine;
let client: OpenAI;
let tgiClient: OpenAI;

const engineCalls = (fakes: readonly FakeTextEngine[]) =>
  fakes.reduce(
    (sum, f) => sum + (f.calls["POST /v1/completions"] ?? 0) + (f.calls["POST /v1/chat/completions"] ?? 0),
    0,
  );
const blamed = async (network: LiveNetwork) =>
  nodeBlame(await (await fetch(`${network.gateway.url}/metrics`)).text());

beforeAll(async () => {
  vllm.push(await startFakeVllm({ flavor: "vllm" }), await startFakeVllm({ flavor: "vllm" }));
  tgi = await startFakeVllm({ flavor: "tgi" });
  net = await startLiveNetwork({ backends: vllm.map((f) => ({ kind: "vllm", url: f.url })) });
  tgiNet = await startLiveNetwork({ backends: [{ kind: "tgi", url: tgi.url }] });
  // Default retries (2): the SDK would retry a 5xx, a 408/409/429 or a connection error.
  client = new OpenAI({ apiKey: (await net.newKey()).secret, baseURL: `${net.gateway.url}/v1` });
  tgiClient = new OpenAI({ apiKey: (await tgiNet.newKey()).secret, baseURL: `${tgiNet.gateway.url}/v1` });
}, 90_000);
afterAll(async () => {
  await net?.close();
  await tgiNet?.close();
  await Promise.all([...vllm, tgi].map((f) => f?.close()));
});

describe("engine errors through the gateway", () => {
  it("passes an engine's 400 to the client as a 400 with its cleaned reason once another node's engine refused it too, and blames no node", async () => {
    for (const fake of vllm) {
      fake.faults.fail = {
        status: 400,
        message:
          "This model's maximum context length is 4096 tokens (/srv/models/llama.gguf)\n  at x (/a/b.js:1:1)",
        times: 5,
      };
    }
    const before = engineCalls(vllm);
    const error = await refusal(
      client.completions.create({ model: "llama-2-13b", prompt: "Hi", max_tokens: 8 }),
    );
    for (const fake of vllm) fake.faults.fail = null;
    expect(error.status).toBe(400);
    expect(error.code).toBe("ENGINE_REJECTED");
    expect(error.message).toContain("maximum context length is 4096 tokens");
    expect(error.message).not.toContain("/srv");
    expect(error.message).not.toContain("b.js");
    // Two engine calls, one per node: the second opinion agreed, and the SDK did not retry the 400.
    expect(engineCalls(vllm) - before).toBe(2);
    expect(await blamed(net)).toEqual([]);
  });

  it("answers 400 ENGINE_REJECTED for a token id outside the engine's vocabulary", async () => {
    const error = await refusal(
      client.completions.create({ model: "llama-2-13b", prompt: [1, 2, 99_999], max_tokens: 2 }),
    );
    expect(error.status).toBe(400);
    expect(error.code).toBe("ENGINE_REJECTED");
    expect(error.message).toContain("out of vocabulary");
  });

  it("retries an engine's 5xx on another node", async () => {
    const [failing, healthy] = vllm as [FakeTextEngine, FakeTextEngine];
    failing.faults.fail = { status: 500, message: "CUDA out of memory", times: 1_000, generationOnly: true };
    const failedBefore = engineCalls([failing]);
    // Until the failing node has been tried (each relay picks it first with even odds): every
    // relay is still answered, by the healthy node.
    for (let i = 0; i < 30 && engineCalls([failing]) === failedBefore; i++) {
      const servedBefore = engineCalls([healthy]);
      const answer = await client.completions.create({ model: "llama-2-13b", prompt: "Hi", max_tokens: 1 });
      expect(answer.choices[0]?.text.length).toBeGreaterThan(0);
      expect(engineCalls([healthy]) - servedBefore).toBe(1);
    }
    failing.faults.fail = null;
    expect(engineCalls([failing])).toBeGreaterThan(failedBefore);
  });

  it("normalises TGI's eos_token to stop, unary and streamed, without blaming the node", async () => {
    const messages = [{ role: "user" as const, content: "Say hello." }];
    const answer = await tgiClient.chat.completions.create({
      model: "llama-2-13b",
      messages,
      max_tokens: 4,
      seed: 3,
    });
    expect(answer.choices[0]?.finish_reason).toBe("stop");
    const stream = await tgiClient.chat.completions.create({
      model: "llama-2-13b",
      messages,
      max_tokens: 4,
      seed: 3,
      stream: true,
    });
    const reasons: string[] = [];
    for await (const chunk of stream) {
      for (const choice of chunk.choices)
        if (choice.finish_reason !== null) reasons.push(choice.finish_reason);
    }
    expect(reasons).toEqual(["stop"]);
    expect(await blamed(tgiNet)).toEqual([]);
  });

  it("answers through another node what one node's engine refuses, and sanctions a node whose refusals others disprove", async () => {
    // A network of its own: the other tests' failures weigh on the nodes' selection.
    const fakes = [await startFakeVllm({ flavor: "vllm" }), await startFakeVllm({ flavor: "vllm" })];
    const own = await startLiveNetwork({ backends: fakes.map((f) => ({ kind: "vllm", url: f.url })) });
    try {
      await sanctionsTheDodger(own, fakes as [FakeTextEngine, FakeTextEngine]);
    } finally {
      await own.close();
      await Promise.all(fakes.map((f) => f.close()));
    }
  }, 120_000);
});

async function sanctionsTheDodger(network: LiveNetwork, [dodger, honest]: [FakeTextEngine, FakeTextEngine]) {
  const client = new OpenAI({
    apiKey: (await network.newKey()).secret,
    baseURL: `${network.gateway.url}/v1`,
    maxRetries: 0,
  });
  dodger.faults.fail = { status: 400, message: "no", times: 100_000, generationOnly: true };
  const sanctioned = async () =>
    (await (await fetch(`${network.gateway.url}/metrics`)).text())
      .split("\n")
      .some((line) => line.includes('reason="disproved_refusals"') && !line.endsWith(" 0"));
  const dodged = () => dodger.calls["POST /v1/completions"] ?? 0;
  const before = dodged();
  // Streams too: until the dodger has refused one, every stream still delivers, through the other node.
  for (let i = 0; i < 100 && dodged() === before; i++) {
    const stream = await client.completions.create({
      model: "llama-2-13b",
      prompt: "Hi",
      max_tokens: 1,
      stream: true,
    });
    let pieces = 0;
    for await (const chunk of stream) pieces += chunk.choices.length;
    expect(pieces).toBeGreaterThan(0);
  }
  expect(dodged() - before).toBe(1);
  for (let i = 0; i < 200 && !(await sanctioned()); i++) {
    // Each relay the dodger refuses is asked of the honest node too: the client never sees the refusal.
    const answer = await client.completions.create({ model: "llama-2-13b", prompt: "Hi", max_tokens: 1 });
    expect(answer.choices).toHaveLength(1);
  }
  expect(await sanctioned()).toBe(true);
  expect(dodged() - before).toBe(3);
  // Marked like any other faulty node: no traffic until the sanction ends, and the operator sees why.
  const listed = (await network.admin.admin.nodes.list.query()) as {
    address: string;
    stats: { sanctionReason?: string };
  }[];
  const reasons = listed.map((n) => n.stats.sanctionReason).filter((r) => r !== undefined);
  expect(reasons).toEqual(["ENGINE_REJECTED: refused 3 requests that other nodes answered"]);
  expect(engineCalls([honest])).toBeGreaterThan(0);
  const calls = dodged();
  for (let i = 0; i < 5; i++)
    await client.completions.create({ model: "llama-2-13b", prompt: "Hi", max_tokens: 1 });
  expect(dodged()).toBe(calls);
  dodger.faults.fail = null;
}
