import { crc32 } from "node:zlib";
import { pocketCodeOf } from "@pocket-ai/link";
import { encodePng } from "@pocket-ai/png";
import {
  bytesToHex,
  generateKeyPair,
  type RelayStreamChunk,
  RelayStreamVerifier,
  relayLeafHash,
  relayRequestHash,
  relayResponseHash,
  verifyRelayResponse,
} from "@pocket-ai/protocol";
import { familyTokenizer } from "@pocket-ai/tokens";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type NodeHarness, startTestNode, TestGateway } from "./helpers/node-harness.js";

let h: NodeHarness;
const gw = new TestGateway();

beforeAll(async () => {
  // The text backend is declared able to call tools, so a tools schema is refused only by the budget.
  h = await startTestNode({
    services: [
      {
        serviceId: "llama-2-13b",
        tiers: ["standard", "batch"],
        backends: [{ kind: "dev", capabilities: { tools: true } }],
      },
      { serviceId: "stable-diffusion", tiers: ["standard"], backends: [{ kind: "dev" }] },
    ],
  });
});
afterAll(async () => {
  await h.stop();
});

const pocketCode = pocketCodeOf;

/** A real 1×1 PNG whose header claims 40000×40000 pixels, as base64. */
function hugePngHeader(): string {
  const png = Buffer.from(encodePng({ width: 1, height: 1, data: new Uint8Array([0, 0, 0, 255]) }));
  png.writeUInt32BE(40_000, 16);
  png.writeUInt32BE(40_000, 20);
  png.writeUInt32BE(crc32(png.subarray(12, 29)) >>> 0, 29);
  return png.toString("base64");
}

describe("unary relays", () => {
  it("answers a completion with a signed response, usage and weight, and records its leaf", async () => {
    const request = gw.request({
      model: "llama-2-13b",
      prompt: "The capital of France is",
      max_tokens: 8,
      temperature: 0,
    });
    const response = await h.client.relay.mutate(request);
    const verified = verifyRelayResponse(response, {
      nodeAddress: h.node.key.address,
      header: request.header,
    });
    expect(verified.ok).toBe(true);
    expect(response.outcome).toBe("ok");
    const payload = response.payload as { choices: { text: string }[]; usage: { prompt_tokens: number } };
    expect(payload.choices[0]!.text.length).toBeGreaterThan(0);
    expect(payload.usage.prompt_tokens).toBeGreaterThan(0);
    // Input is the protocol's budget count with the node's tokenizer (BOS included), not the engine's word.
    expect(response.usage.inputTokens).toBe(
      familyTokenizer("llama-2").countPrompt("The capital of France is"),
    );
    expect(response.usage.outputTokens).toBeGreaterThan(0);
    expect(response.usage.outputTokens).toBeLessThanOrEqual(8);
    expect(response.computeUnits).toBe(750);
    const leaves = h.node.relays.leaves(request.header.sessionId, gw.key.address);
    expect(leaves).toContainEqual({
      leafHash: bytesToHex(relayLeafHash(response.requestHash, relayResponseHash(response))),
      computeUnits: 750,
    });
  });

  it("returns prompt logprobs with echo, the first one null", async () => {
    const request = gw.request({
      model: "llama-2-13b",
      prompt: "Two plus two is four.",
      max_tokens: 0,
      echo: true,
      logprobs: 1,
    });
    const response = await h.client.relay.mutate(request);
    const logprobs = (response.payload as { choices: { logprobs: { token_logprobs: (number | null)[] } }[] })
      .choices[0]!.logprobs;
    expect(logprobs.token_logprobs[0]).toBeNull();
    expect(logprobs.token_logprobs.slice(1).every((l) => typeof l === "number" && l <= 0)).toBe(true);
  });

  it("serves chat completions and the batch tier at the batch weight", async () => {
    const request = gw.request(
      {
        model: "llama-2-13b",
        messages: [{ role: "user", content: "How many legs does a spider have?" }],
        max_tokens: 12,
      },
      { operation: "chat.completions", tier: "batch" },
    );
    const response = await h.client.relay.mutate(request);
    expect(response.outcome).toBe("ok");
    expect(response.computeUnits).toBe(500);
    expect(
      (response.payload as { choices: { message: { content: string } }[] }).choices[0]!.message.content,
    ).toBeTypeOf("string");
  });

  it("clamps max_tokens to the tier's 1000 output tokens instead of doing more work", async () => {
    const request = gw.request({
      model: "llama-2-13b",
      prompt: "Once upon a time",
      max_tokens: 5000,
      ignore_eos: true,
    });
    const response = await h.client.relay.mutate(request);
    expect(response.outcome).toBe("ok");
    expect(response.usage.outputTokens).toBe(1000);
  });

  it("makes a PNG of the requested size for an image relay, weighed in standard images", async () => {
    const request = gw.request(
      { prompt: "a red sunset over the ocean", size: "512x512", n: 1, seed: 3 },
      { operation: "images.generations", serviceId: "stable-diffusion" },
    );
    const response = await h.client.relay.mutate(request);
    expect(response.outcome).toBe("ok");
    const b64 = (response.payload as { data: { b64_json: string }[] }).data[0]!.b64_json;
    const png = Buffer.from(b64, "base64");
    expect(png.subarray(1, 4).toString()).toBe("PNG");
    expect(png.readUInt32BE(16)).toBe(512);
    expect(png.readUInt32BE(20)).toBe(512);
    expect(response.usage.images).toBe(1);
    expect(response.computeUnits).toBe(18000);
  });
});

describe("the budget rule: limits per prompt, schemas count as input", () => {
  const sentence = "The capital of France is Paris. ";
  const count = (text: string) => familyTokenizer("llama-2").countPrompt(text);

  it("admits a batch of 3 prompts each under the 200-token limit, though together they are over", async () => {
    const prompts = [sentence.repeat(12), sentence.repeat(11), sentence.repeat(10)];
    expect(prompts.every((p) => count(p) <= 200)).toBe(true);
    expect(prompts.reduce((sum, p) => sum + count(p), 0)).toBeGreaterThan(200);
    const response = await h.client.relay.mutate(
      gw.request({ model: "llama-2-13b", prompt: prompts, max_tokens: 2 }),
    );
    expect(response.outcome).toBe("ok");
    expect(response.usage.inputTokens).toBe(prompts.reduce((sum, p) => sum + count(p), 0));
    expect((response.payload as { choices: unknown[] }).choices).toHaveLength(3);
  });

  it("refuses a chat whose tools schema pushes it over the input limit with a signed INPUT_TOO_LONG", async () => {
    const chat = {
      model: "llama-2-13b",
      messages: [{ role: "user", content: sentence.repeat(12) }],
      max_tokens: 2,
    };
    expect(count(`user: ${sentence.repeat(12)}`)).toBeLessThan(200);
    const admitted = await h.client.relay.mutate(gw.request(chat, { operation: "chat.completions" }));
    expect(admitted.outcome).toBe("ok");
    const tools = [{ type: "function", function: { name: "lookup", description: sentence.repeat(20) } }];
    const refused = await h.client.relay.mutate(
      gw.request({ ...chat, tools }, { operation: "chat.completions" }),
    );
    expect(refused.outcome).toBe("error");
    expect(refused.error?.code).toBe("INPUT_TOO_LONG");
    expect(verifyRelayResponse(refused, { nodeAddress: h.node.key.address }).ok).toBe(true);
  });
});

describe("refusals: the right code every time, no work spent", () => {
  it("refuses a prompt over the tier's 200 input tokens with a signed INPUT_TOO_LONG", async () => {
    const prompt = "The capital of France is Paris. ".repeat(60);
    const response = await h.client.relay.mutate(gw.request({ model: "llama-2-13b", prompt, max_tokens: 5 }));
    expect(response.outcome).toBe("error");
    expect(response.error?.code).toBe("INPUT_TOO_LONG");
    expect(response.computeUnits).toBe(0);
    expect(verifyRelayResponse(response, { nodeAddress: h.node.key.address }).ok).toBe(true);
  });

  it("refuses a replay of the same signed request", async () => {
    const request = gw.request({ model: "llama-2-13b", prompt: "Hello", max_tokens: 2 });
    expect((await h.client.relay.mutate(request)).outcome).toBe("ok");
    const again = await h.client.relay.mutate(request);
    expect(again.error?.code).toBe("REPLAYED_RELAY");
  });

  it("refuses a tampered request as unverifiable, without signing anything", async () => {
    const request = gw.request({ model: "llama-2-13b", prompt: "Hello", max_tokens: 2 });
    const tampered = { ...request, payload: { ...(request.payload as object), max_tokens: 3 } };
    const error = await h.client.relay.mutate(tampered).catch((e: unknown) => e);
    expect(pocketCode(error)).toBe("INVALID_SIGNATURE");
  });

  it("refuses a relay from an ended session", async () => {
    const old = gw.request(
      { model: "llama-2-13b", prompt: "Hi", max_tokens: 2 },
      { now: Date.now() - 3_600_000 },
    );
    const response = await h.client.relay.mutate(old);
    expect(response.error?.code).toBe("SESSION_EXPIRED");
  });

  it("refuses a relay addressed to another node", async () => {
    const request = gw.request(
      { model: "llama-2-13b", prompt: "Hi", max_tokens: 2 },
      { target: generateKeyPair().address },
    );
    const error = await h.client.relay.mutate(request).catch((e: unknown) => e);
    expect(pocketCode(error)).toBe("ADDRESS_MISMATCH");
  });

  it.each([
    ["a payload that is not a completion", { model: "llama-2-13b", prompt: 42 }, {}, "INVALID_REQUEST"],
    ["an unknown tier", { model: "llama-2-13b", prompt: "Hi" }, { tier: "gold" }, "UNKNOWN_TIER"],
    [
      "a service the node does not serve",
      { model: "mistral-7b", prompt: "Hi" },
      { serviceId: "mistral-7b" },
      "UNKNOWN_SERVICE",
    ],
    [
      "an image operation on a text service",
      { prompt: "a cat" },
      { operation: "images.generations" as const },
      "UNSUPPORTED_OPERATION",
    ],
    [
      "an upload whose PNG header is beyond the tier's pixel budget (nothing decoded)",
      { prompt: "a cat", image: hugePngHeader() },
      { operation: "images.edits" as const, serviceId: "stable-diffusion" },
      "INVALID_REQUEST",
    ],
    [
      "an image larger than the tier allows",
      { prompt: "a cat", size: "4096x4096" },
      { operation: "images.generations" as const, serviceId: "stable-diffusion" },
      "IMAGE_TOO_LARGE",
    ],
  ])("refuses %s", async (_name, payload, options, code) => {
    const response = await h.client.relay.mutate(gw.request(payload, options));
    expect(response.outcome).toBe("error");
    expect(response.error?.code).toBe(code);
  });

  it.each([
    ["null", null],
    ["a string", "relay please"],
    ["an empty object", {}],
    ["a request with an extra field", { extra: true }],
  ])("answers %s with MALFORMED_ENVELOPE and keeps serving", async (_name, input) => {
    const sample = gw.request({ model: "llama-2-13b", prompt: "x" });
    const body =
      input !== null && typeof input === "object" && "extra" in input ? { ...sample, extra: true } : input;
    const error = await h.client.relay.mutate(body).catch((e: unknown) => e);
    expect(pocketCode(error)).toBe("MALFORMED_ENVELOPE");
    expect((await h.client.health.query()).ok).toBe(true);
  });
});

describe("streaming relays", () => {
  it("streams chunks that each verify, ends with signed usage, and records the final chain as the leaf", async () => {
    const request = gw.request({
      model: "llama-2-13b",
      prompt: "Once upon a time",
      max_tokens: 20,
      stream: true,
    });
    const verifier = new RelayStreamVerifier({
      publicKey: h.node.key.publicKeyHex,
      requestHash: relayRequestHash(request),
    });
    const stream = await h.client.relayStream.mutate(request);
    let text = "";
    for await (const chunk of stream) {
      const accepted = verifier.accept(chunk);
      expect(accepted.ok).toBe(true);
      const data = chunk.data as { choices?: { text?: string }[] } | null;
      text += data?.choices?.[0]?.text ?? "";
    }
    expect(verifier.finished).toBe(true);
    expect(verifier.final?.outcome).toBe("ok");
    expect(verifier.final?.usage.outputTokens).toBeGreaterThan(0);
    expect(text.length).toBeGreaterThan(0);
    const leaves = h.node.relays.leaves(request.header.sessionId, gw.key.address);
    expect(leaves.map((l) => l.leafHash)).toContain(
      bytesToHex(relayLeafHash(verifier.requestHash, verifier.chain)),
    );
  });

  it("streams whole an answer that max_tokens ends on text held back for a possible stop sequence", async () => {
    // Greedy: " Chile is Santiago", whose last token ends in "go", the start of the stop "go!".
    const request = gw.request({
      model: "llama-2-13b",
      prompt: "The capital of",
      max_tokens: 3,
      temperature: 0,
      stop: ["go!"],
      stream: true,
    });
    const pieces: string[] = [];
    let final: RelayStreamChunk["final"];
    for await (const chunk of (await h.client.relayStream.mutate(
      request,
    )) as AsyncIterable<RelayStreamChunk>) {
      const data = chunk.data as { choices?: { text?: string }[] } | null;
      const text = data?.choices?.[0]?.text ?? "";
      if (text !== "") pieces.push(text);
      final = chunk.final ?? final;
    }
    // Every piece of text is at least one token to the node's checks and the gateway's: three
    // tokens in four pieces would be an answer longer than max_tokens.
    expect(final?.outcome).toBe("ok");
    expect(pieces.join("")).toBe(" Chile is Santiago");
    expect(pieces.length).toBeLessThanOrEqual(3);
    expect(final?.usage.outputTokens).toBe(3);
  });

  it("answers a refused stream with one signed final error chunk", async () => {
    const request = gw.request({ model: "llama-2-13b", prompt: "x ".repeat(400), stream: true });
    const chunks = [];
    for await (const chunk of await h.client.relayStream.mutate(request)) chunks.push(chunk);
    expect(chunks).toHaveLength(1);
    expect(chunks[0]!.final?.error?.code).toBe("INPUT_TOO_LONG");
  });

  it("refuses a streamed scoring call (echo), which a cut would leave unbilled, before any work", async () => {
    const request = gw.request({
      model: "llama-2-13b",
      prompt: "Once upon a time",
      max_tokens: 0,
      echo: true,
      logprobs: 1,
      stream: true,
    });
    const chunks = [];
    for await (const chunk of await h.client.relayStream.mutate(request)) chunks.push(chunk);
    expect(chunks).toHaveLength(1);
    expect(chunks[0]!.final?.error?.code).toBe("UNSUPPORTED_PARAMETER");
  });
});

describe("operations", () => {
  it("describes itself honestly in info: services, tiers, tokenizer, development backend label", async () => {
    const info = await h.client.info.query();
    expect(info.address).toBe(h.node.key.address);
    const llama = info.services.find((s) => s.serviceId === "llama-2-13b");
    expect(llama?.tiers).toEqual(["standard", "batch"]);
    expect(llama?.capabilities.promptLogprobs).toBe(true);
    expect(llama?.tokenizer.kind).toBe("dev");
    expect(info.developmentBackend).toMatch(/development backend/);
  });

  it("exposes Prometheus metrics for relays and backends", async () => {
    const text = await (await fetch(`${h.node.url}/metrics`)).text();
    expect(text).toMatch(/pocket_node_relays_total\{outcome="ok",service="llama-2-13b"\} \d+/);
    expect(text).toMatch(/pocket_node_relays_total\{outcome="INPUT_TOO_LONG",service="llama-2-13b"\} \d+/);
    expect(text).toContain("pocket_node_backend_seconds_bucket");
    expect(text).toContain("pocket_node_backend_queue_depth");
  });
});
