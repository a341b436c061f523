import { generateKeyPair, RelayStreamVerifier, relayRequestHash } from "@pocket-ai/protocol";
import { createLogger } from "@pocket-ai/runtime";
import { afterEach, describe, expect, it } from "vitest";
import { type FakeA1111, startFakeA1111 } from "./fakes/fake-a1111.js";
import { latch, until } from "./fakes/fake-server.js";
import { type FakeTextEngine, startFakeVllm } from "./fakes/fake-vllm.js";
import { type NodeHarness, startTestNode, TestGateway } from "./helpers/node-harness.js";

let harness: NodeHarness | undefined;
let fake: FakeTextEngine | undefined;
let painter: FakeA1111 | undefined;
afterEach(async () => {
  await harness?.stop();
  await fake?.close();
  await painter?.close();
  harness = undefined;
  fake = undefined;
  painter = undefined;
});

const gw = new TestGateway();

async function nodeInFrontOf(
  flavor: "vllm" | "llamacpp",
  backend: Record<string, unknown> = {},
  extra: Record<string, unknown> = {},
  features: Parameters<typeof startFakeVllm>[0] = {},
  tiers: readonly string[] = ["standard"],
) {
  fake = await startFakeVllm({ flavor, ...features });
  harness = await startTestNode({
    services: [
      {
        serviceId: "llama-2-13b",
        tiers,
        model: { declared: "llama-2-13b-chat", family: "llama-2", quantization: "q4_k_m" },
        backends: [{ kind: flavor, url: fake.url, model: "served-model", ...backend }],
      },
    ],
    ...extra,
  });
  // The node probed the engine at start (`probeAtStart`); the tests count their relays' calls only.
  fake.resetCounts();
  return harness;
}

describe("a node in front of real HTTP engines", () => {
  it("serves a vLLM backend, counting a Llama 2 model's tokens in-process", async () => {
    const h = await nodeInFrontOf("vllm");
    const response = await h.client.relay.mutate(
      gw.request({ model: "llama-2-13b", prompt: "Hello there", max_tokens: 4 }),
    );
    expect(response.outcome).toBe("ok");
    const info = await h.client.info.query();
    expect(info.services[0]?.tokenizer).toEqual({ kind: "llama-2", exact: true });
    // No round trip to the engine's tokenizer for a family the node can count itself.
    expect(fake!.calls["POST /tokenize"] ?? 0).toBe(0);
    expect(info.services[0]?.model).toEqual({
      declared: "llama-2-13b-chat",
      family: "llama-2",
      quantization: "q4_k_m",
    });
    // The engine was asked for its own model name, not the public one.
    const sent = fake!.requests.find((r) => r.path === "/v1/completions")?.body as { model?: string };
    expect(sent.model).toBe("served-model");
    // The public answers name the backend by service, kind and place, never by the engine's
    // address (which would show anyone who asks what stands behind the node).
    const engineHost = new URL(fake!.url).host;
    expect(info.services[0]?.backends).toEqual([{ kind: "vllm", id: "llama-2-13b/vllm#0" }]);
    const health = await (await fetch(`${h.node.url}/health`)).text();
    expect(JSON.parse(health)).toMatchObject({ ok: true, backends: { "llama-2-13b/vllm#0": true } });
    expect(`${JSON.stringify(info)}${health}`).not.toContain(engineHost);
  });

  it("builds engine calls from the protocol's fields: engine-specific knobs and unknown fields never reach the engine", async () => {
    // vLLM started with tool calling on (`--enable-auto-tool-choice`): tools pass, knobs do not.
    const h = await nodeInFrontOf(
      "vllm",
      { capabilities: { tools: true } },
      {},
      { features: { tools: true, jsonMode: true } },
    );
    const smuggled = {
      n_predict: 100_000,
      num_predict: 100_000,
      max_new_tokens: 100_000,
      min_tokens: 100_000,
      best_of: 20,
      user: "end-user-42",
      options: { num_ctx: 1_000_000 },
    };
    const chat = await h.client.relay.mutate(
      gw.request(
        {
          model: "llama-2-13b",
          messages: [{ role: "user", content: "Hi", cache_prompt: true }],
          max_tokens: 100_000,
          tools: [{ type: "function", function: { name: "f", parameters: { type: "object" } }, extra: 1 }],
          response_format: { type: "json_object", grammar: "root ::= .*" },
          ...smuggled,
        },
        { operation: "chat.completions" },
      ),
    );
    expect(chat.outcome).toBe("ok");
    const completion = await h.client.relay.mutate(
      gw.request({ model: "llama-2-13b", prompt: "Hello", max_tokens: 4, top_k: 5, ...smuggled }),
    );
    expect(completion.outcome).toBe("ok");
    const sentChat = fake!.requests.find((r) => r.path === "/v1/chat/completions")?.body as Record<
      string,
      unknown
    >;
    const sentCompletion = fake!.requests.find((r) => r.path === "/v1/completions")?.body as Record<
      string,
      unknown
    >;
    for (const sent of [sentChat, sentCompletion]) {
      for (const field of Object.keys(smuggled)) expect(sent).not.toHaveProperty(field);
    }
    // max_tokens is clamped to the tier's output limit, never the client's number.
    expect(sentChat.max_tokens).toBe(1000);
    expect(sentChat.messages).toEqual([{ role: "user", content: "Hi" }]);
    expect(sentChat.tools).toEqual([
      { type: "function", function: { name: "f", parameters: { type: "object" } } },
    ]);
    expect(sentChat.response_format).toEqual({ type: "json_object" });
    // vLLM takes its extras (top_k); other engines get the body without them.
    expect(sentCompletion.top_k).toBe(5);
  });

  it("takes an assistant turn's refusal part as text of that turn, to the engine and in its input count", async () => {
    const h = await nodeInFrontOf("vllm");
    const chat = (assistant: Record<string, unknown>) =>
      h.client.relay.mutate(
        gw.request(
          {
            model: "llama-2-13b",
            messages: [
              { role: "user", content: "How do I pick a lock?" },
              { role: "assistant", content: [assistant, { type: "text", text: "Ask a locksmith." }] },
              { role: "user", content: "Then how do I find one?" },
            ],
            max_tokens: 4,
          },
          { operation: "chat.completions" },
        ),
      );
    const refused = await chat({ type: "refusal", refusal: "I can't help with that." });
    expect(refused.outcome).toBe("ok");
    const sent = fake!.requests.filter((r) => r.path === "/v1/chat/completions").at(-1)?.body as {
      messages: unknown[];
    };
    expect(sent.messages[1]).toEqual({
      role: "assistant",
      content: [
        { type: "text", text: "I can't help with that." },
        { type: "text", text: "Ask a locksmith." },
      ],
    });
    const written = await chat({ type: "text", text: "I can't help with that." });
    expect(written.outcome).toBe("ok");
    expect(refused.usage.inputTokens).toBe(written.usage.inputTokens);
  });

  it("sends top_p 0 (OpenAI's greedy end of its 0 to 1 range) as temperature 0, which every engine takes", async () => {
    const h = await nodeInFrontOf("vllm");
    const greedy = await h.client.relay.mutate(
      gw.request({ model: "llama-2-13b", prompt: "Hello", max_tokens: 4, temperature: 0.8, top_p: 0 }),
    );
    expect(greedy.outcome).toBe("ok");
    const nucleus = await h.client.relay.mutate(
      gw.request({ model: "llama-2-13b", prompt: "Hello again", max_tokens: 4, top_p: 0.5 }),
    );
    expect(nucleus.outcome).toBe("ok");
    const sent = fake!.requests
      .filter((r) => r.path === "/v1/completions")
      .slice(-2)
      .map((r) => r.body as Record<string, unknown>);
    expect(sent[0]).not.toHaveProperty("top_p");
    expect(sent[0]?.temperature).toBe(0);
    expect(sent[1]?.top_p).toBe(0.5);
  });

  it("refuses echo with logprobs on a llama.cpp backend before any generation (it cannot return prompt logprobs)", async () => {
    const h = await nodeInFrontOf("llamacpp");
    const before = fake!.calls["POST /v1/completions"] ?? 0;
    const response = await h.client.relay.mutate(
      gw.request({
        model: "llama-2-13b",
        prompt: "Two plus two is four",
        max_tokens: 0,
        echo: true,
        logprobs: 1,
      }),
    );
    expect(response.error?.code).toBe("UNSUPPORTED_PARAMETER");
    expect(fake!.calls["POST /v1/completions"] ?? 0).toBe(before);
    expect((await h.client.info.query()).services[0]?.capabilities.promptLogprobs).toBe(false);
  });

  it("passes parallel_tool_calls: false to an engine that obeys it; refuses it before any generation where the engine may ignore it", async () => {
    const chat = (content: string) =>
      gw.request(
        {
          model: "llama-2-13b",
          messages: [{ role: "user", content }],
          tools: [{ type: "function", function: { name: "weather", parameters: { type: "object" } } }],
          parallel_tool_calls: false,
          max_tokens: 4,
        },
        { operation: "chat.completions" },
      );
    const sentChats = () => fake!.requests.filter((r) => r.path === "/v1/chat/completions");
    // vLLM before 0.11 drops the field and may call several tools: refused unless the operator declares it.
    const vllm = await nodeInFrontOf(
      "vllm",
      { capabilities: { tools: true } },
      {},
      { features: { tools: true } },
    );
    const refused = await vllm.client.relay.mutate(chat("Weather in Oslo and Bergen?"));
    expect(refused.error?.code).toBe("UNSUPPORTED_PARAMETER");
    expect(refused.error?.detail ?? refused.error?.message).toMatch(/parallel_tool_calls/);
    expect(sentChats()).toHaveLength(0);
    await harness?.stop();
    await fake?.close();
    const llama = await nodeInFrontOf(
      "llamacpp",
      { capabilities: { tools: true } },
      {},
      { features: { tools: true } },
    );
    const answered = await llama.client.relay.mutate(chat("Weather in Oslo and Bergen?"));
    expect(answered.outcome).toBe("ok");
    const sent = sentChats().at(-1);
    expect(sent).toBeDefined();
    expect((sent?.body as Record<string, unknown> | undefined)?.parallel_tool_calls).toBe(false);
  });

  it("answers BACKEND_UNAVAILABLE, signed, when the engine fails, and keeps serving", async () => {
    const h = await nodeInFrontOf("vllm");
    fake!.faults.fail = { status: 500, times: 10 };
    const failed = await h.client.relay.mutate(
      gw.request({ model: "llama-2-13b", prompt: "Hi", max_tokens: 2 }),
    );
    expect(failed.error?.code).toBe("BACKEND_UNAVAILABLE");
    fake!.faults.fail = null;
    const ok = await h.client.relay.mutate(gw.request({ model: "llama-2-13b", prompt: "Hi", max_tokens: 2 }));
    expect(ok.outcome).toBe("ok");
  });

  it("signs ENGINE_REJECTED with the engine's cleaned reason when the engine refuses the request", async () => {
    const h = await nodeInFrontOf("vllm");
    fake!.faults.fail = {
      status: 400,
      message: "prompt is too long for /srv/models/llama.gguf\u0007\n    at check (/srv/engine/main.js:10:3)",
      times: 1,
    };
    const refused = await h.client.relay.mutate(
      gw.request({ model: "llama-2-13b", prompt: "Hi", max_tokens: 2 }),
    );
    expect(refused.outcome).toBe("error");
    expect(refused.error?.code).toBe("ENGINE_REJECTED");
    expect(refused.error?.detail).toBe(
      "the engine refused the request: HTTP 400: prompt is too long for <path>",
    );
    fake!.faults.fail = { status: 401, times: 1 };
    const misconfigured = await h.client.relay.mutate(
      gw.request({ model: "llama-2-13b", prompt: "Hi", max_tokens: 2 }),
    );
    expect(misconfigured.error?.code).toBe("BACKEND_ERROR");
  });

  it("answers a batch of prompts with prompt × n choices, and refuses (signed) an engine answer that drops prompts", async () => {
    const h = await nodeInFrontOf("vllm");
    const batch = { model: "llama-2-13b", prompt: ["One", "Two", "Three"], max_tokens: 2, n: 2 };
    const whole = await h.client.relay.mutate(gw.request(batch));
    expect(whole.outcome).toBe("ok");
    const choices = (whole.payload as { choices: { index: number }[] }).choices;
    expect(choices.map((c) => c.index)).toEqual([0, 1, 2, 3, 4, 5]);
    fake!.faults.firstPromptOnly = true;
    const request = gw.request(batch);
    const partial = await h.client.relay.mutate(request);
    expect(partial.outcome).toBe("error");
    expect(partial.error?.code).toBe("BACKEND_ERROR");
    expect(partial.error?.detail).toBe(
      "the backend's answer holds 2 choices; the request asked for 6 (prompts × n)",
    );
    // Recorded refused: never claimed as answered.
    expect(h.node.relays.outcomeOf(relayRequestHash(request))).toBe("error");
  });

  it("streams every choice of a batch, and ends a stream that drops prompts with an error, never claimed", async () => {
    const h = await nodeInFrontOf("vllm");
    const batch = { model: "llama-2-13b", prompt: ["One", "Two"], max_tokens: 2, n: 2, stream: true };
    const read = async (request: ReturnType<typeof gw.request>) => {
      const chunks = [];
      for await (const chunk of await h.client.relayStream.mutate(request)) chunks.push(chunk);
      return chunks;
    };
    const whole = await read(gw.request(batch));
    expect(whole.at(-1)?.final?.outcome).toBe("ok");
    const indexes = new Set(
      whole.flatMap((c) =>
        ((c.data as { choices?: { index: number }[] } | undefined)?.choices ?? []).map((x) => x.index),
      ),
    );
    expect([...indexes].sort()).toEqual([0, 1, 2, 3]);
    fake!.faults.firstPromptOnly = true;
    const request = gw.request(batch);
    const partial = await read(request);
    const final = partial.at(-1)?.final;
    expect(final?.outcome).toBe("error");
    // Tokens were delivered before the engine's stream ended short: paid for what came, if signed.
    expect(final?.error?.code).toBe("STREAM_INTERRUPTED");
    expect(final?.error?.detail).toBe("the backend's stream delivered 2 of the 4 choices asked for");
    expect(h.node.relays.outcomeOf(relayRequestHash(request))).toBe("error");
  });

  it("folds the pieces an engine sent together into fewer chunks that still verify and hold the same text", async () => {
    const h = await nodeInFrontOf("vllm");
    const body = {
      model: "llama-2-13b",
      messages: [{ role: "user", content: "Tell me about the sea" }],
      max_tokens: 24,
      // The fake engine's words follow the seed: both reads get the same answer.
      seed: 7,
      stream: true,
    };
    const read = async () => {
      const request = gw.request(body, { operation: "chat.completions" });
      const verifier = new RelayStreamVerifier({
        publicKey: h.node.key.publicKeyHex,
        requestHash: relayRequestHash(request),
      });
      let text = "";
      let chunks = 0;
      for await (const chunk of await h.client.relayStream.mutate(request)) {
        expect(verifier.accept(chunk).ok).toBe(true);
        const data = chunk.data as { choices?: { delta?: { content?: string } }[] } | null;
        if (data?.choices?.[0]?.delta?.content) chunks += 1;
        text += data?.choices?.[0]?.delta?.content ?? "";
      }
      expect(verifier.final?.outcome).toBe("ok");
      return { text, chunks, usage: verifier.final?.usage };
    };
    // Piece by piece, apart in time: pieces read one at a time go out one chunk each.
    fake!.faults.pieceDelayMs = 20;
    const paced = await read();
    fake!.faults.pieceDelayMs = 0;
    expect(paced.chunks).toBeGreaterThan(3);
    // The whole answer in one write, as a busy engine's backlog arrives: its text pieces in one
    // chunk, and the piece that finishes the choice (which may carry text too) in its own.
    fake!.faults.burst = true;
    const burst = await read();
    expect(burst.text).toBe(paced.text);
    expect(burst.usage).toEqual(paced.usage);
    expect(burst.chunks).toBeLessThanOrEqual(2);
  });

  it("ends a stream with a signed TIMEOUT when the tier's timeout passes before its first piece", async () => {
    // A short timeout on the standard tier; the engine's own and the batch tier's are long, so
    // only the standard tier's can end a wait.
    const h = await nodeInFrontOf(
      "vllm",
      { timeoutMs: 60_000, maxConcurrency: 1, maxQueue: 1 },
      { catalog: { tiers: { "llama-2-13b:standard": { timeoutMs: 300 } } } },
      {},
      ["standard", "batch"],
    );
    const read = async (request: ReturnType<typeof gw.request>) => {
      const chunks = [];
      for await (const chunk of await h.client.relayStream.mutate(request)) chunks.push(chunk);
      return chunks;
    };
    const body = { model: "llama-2-13b", prompt: "Hello", max_tokens: 3, stream: true };
    const timedOut = async (why: string) => {
      const request = gw.request(body);
      const chunks = await read(request);
      expect(chunks, why).toHaveLength(1);
      expect(chunks[0]?.final?.outcome, why).toBe("error");
      expect(chunks[0]?.final?.error?.code, why).toBe("TIMEOUT");
      expect(h.node.relays.outcomeOf(relayRequestHash(request)), why).toBe("error");
    };
    // The engine never answers: its request is aborted too.
    fake!.faults.hang = true;
    const aborted = fake!.waitForAbort();
    await timedOut("no answer");
    await aborted;
    // The engine answers its head, then nothing.
    fake!.faults.hang = false;
    const held = latch();
    fake!.faults.pieceGate = { after: 0, open: held.promise };
    await timedOut("a head and no piece");
    // A batch-tier stream holds the only seat (its tier's timeout is long): a standard-tier relay
    // waits in the queue.
    fake!.faults.pieceGate = { after: 1, open: held.promise };
    const holding = h.client.relayStream.mutate(gw.request({ ...body, max_tokens: 2 }, { tier: "batch" }));
    const first = await holding;
    const iterator = first[Symbol.asyncIterator]();
    await iterator.next();
    await timedOut("queued for the seat");
    held.open();
    for (let next = await iterator.next(); next.done !== true; next = await iterator.next());
    // Nothing was left taken: the next stream is served whole.
    fake!.faults.pieceGate = null;
    const whole = await read(gw.request(body));
    expect(whole.at(-1)?.final?.outcome).toBe("ok");
  });

  it("answers NODE_BUSY at once when the backend's seat and queue are taken", async () => {
    const h = await nodeInFrontOf("vllm", { maxConcurrency: 1, maxQueue: 0 });
    // The engine holds the first relay's generation until the second relay has been answered.
    const engine = latch();
    fake!.faults.gate = engine.promise;
    const slow = h.client.relay.mutate(gw.request({ model: "llama-2-13b", prompt: "slow", max_tokens: 2 }));
    await until(() => fake!.calls["POST /v1/completions"] === 1, "the first relay at the engine");
    const busy = await h.client.relay.mutate(
      gw.request({ model: "llama-2-13b", prompt: "fast", max_tokens: 2 }),
    );
    expect(busy.error?.code).toBe("NODE_BUSY");
    // Refused without queueing: the engine saw only the first relay's generation.
    expect(fake!.calls["POST /v1/completions"]).toBe(1);
    engine.open();
    expect((await slow).outcome).toBe("ok");
  });

  it("aborts the engine's request when the gateway goes away mid-stream, and does not claim the relay", async () => {
    const h = await nodeInFrontOf("vllm");
    fake!.faults.pieceDelayMs = 100;
    const request = gw.request({
      model: "llama-2-13b",
      prompt: "Tell me a long story",
      max_tokens: 200,
      stream: true,
    });
    const controller = new AbortController();
    const stream = await h.client.relayStream.mutate(request, { signal: controller.signal });
    const aborted = fake!.waitForAbort();
    let seen = 0;
    await expect(
      (async () => {
        for await (const _chunk of stream) {
          seen += 1;
          if (seen === 2) controller.abort();
        }
      })(),
    ).rejects.toThrow();
    await aborted;
    // The node records the outcome once the aborted stream has unwound.
    await until(() => {
      const outcome = h.node.relays.outcomeOf(relayRequestHash(request));
      return outcome !== undefined && outcome !== "pending";
    }, "the relay's outcome");
    expect(h.node.relays.outcomeOf(relayRequestHash(request))).toBe("error");
    expect(h.node.relays.leaves(request.header.sessionId, gw.key.address)).toHaveLength(0);
    // Counted as cut: work no one pays for, which the node's operator can see.
    expect(await relaysCounted(h.node.url, "cut")).toBe(1);
  });

  it("aborts the engine's request when the gateway goes away before the first piece, and counts the relay cut", async () => {
    const h = await nodeInFrontOf("vllm");
    const held = latch();
    // The engine answers its head, then holds its first piece.
    fake!.faults.pieceGate = { after: 0, open: held.promise };
    try {
      const request = gw.request({
        model: "llama-2-13b",
        prompt: "Tell me a story",
        max_tokens: 8,
        stream: true,
      });
      const controller = new AbortController();
      const aborted = fake!.waitForAbort();
      const opened = h.client.relayStream.mutate(request, { signal: controller.signal });
      await until(() => h.node.relays.inFlight() === 1, "the relay at the node");
      controller.abort();
      await expect(opened).rejects.toThrow();
      // The engine's request ends with the gateway's, not at its first piece or the tier's timeout.
      await aborted;
      await until(() => h.node.relays.inFlight() === 0, "the node letting go of the relay");
      expect(h.node.relays.outcomeOf(relayRequestHash(request))).toBe("error");
      expect(h.node.relays.leaves(request.header.sessionId, gw.key.address)).toHaveLength(0);
      expect(await relaysCounted(h.node.url, "cut")).toBe(1);
    } finally {
      fake!.faults.pieceGate = null;
      held.open();
    }
  });

  it("records a unary relay the gateway gave up on as failed, aborts its engine request, holds nothing for it, and refuses its replay", async () => {
    const h = await nodeInFrontOf("vllm");
    const engine = latch();
    fake!.faults.gate = engine.promise;
    const request = gw.request({ model: "llama-2-13b", prompt: "Hi", max_tokens: 2 });
    const hash = relayRequestHash(request);
    const controller = new AbortController();
    const call = h.client.relay.mutate(request, { signal: controller.signal });
    await until(() => fake!.calls["POST /v1/completions"] === 1, "the relay at the engine");
    expect(h.node.relays.outcomeOf(hash)).toBe("pending");
    const aborted = fake!.waitForAbort();
    controller.abort();
    await expect(call).rejects.toThrow();
    // The engine's request is aborted with the relay.
    await aborted;
    await until(() => h.node.relays.outcomeOf(hash) === "error", "the relay recorded failed");
    expect(h.node.relays.inFlight()).toBe(0);
    expect(await relaysCounted(h.node.url, "cut")).toBe(1);
    engine.open();
    const replay = await h.client.relay.mutate(request);
    expect(replay.error?.code).toBe("REPLAYED_RELAY");
    expect(h.node.relays.leaves(request.header.sessionId, gw.key.address)).toHaveLength(0);
  });

  it("refuses relays from a gateway it does not serve", async () => {
    const h = await nodeInFrontOf(
      "vllm",
      {},
      { gateways: [{ url: "http://127.0.0.1:9/trpc", address: generateKeyPair().address }] },
    );
    const response = await h.client.relay.mutate(
      gw.request({ model: "llama-2-13b", prompt: "Hi", max_tokens: 2 }),
    );
    expect(response.error?.code).toBe("UNKNOWN_GATEWAY");
  });
});

describe("a node in front of an AUTOMATIC1111 engine", () => {
  const images = (response: { payload?: unknown }) => (response.payload as { data?: unknown[] }).data?.length;

  it("signs the count of images made and their weight in standard images, and never an answer short of the images asked or of another size", async () => {
    painter = await startFakeA1111();
    harness = await startTestNode({
      services: [
        {
          serviceId: "stable-diffusion",
          tiers: ["standard"],
          backends: [{ kind: "a1111", url: painter.url }],
        },
      ],
    });
    const ask = (body: Record<string, unknown>) =>
      harness!.client.relay.mutate(
        gw.request(
          { prompt: "a lighthouse", ...body },
          { operation: "images.generations", serviceId: "stable-diffusion" },
        ),
      );
    const two = await ask({ size: "512x512", n: 2 });
    expect(two.outcome).toBe("ok");
    expect(images(two)).toBe(2);
    expect(two.usage.images).toBe(2);
    expect(two.computeUnits).toBe(2 * 18_000);
    // One image four standard images large: one image, weighed as four.
    const large = await ask({ size: "1024x1024", n: 1 });
    expect(large.usage.images).toBe(1);
    expect(large.computeUnits).toBe(4 * 18_000);

    painter.faults.maxImages = 1;
    const short = await ask({ size: "512x512", n: 2 });
    expect(short.outcome).toBe("error");
    expect(short.error).toMatchObject({ code: "BACKEND_ERROR" });
    expect(short.computeUnits).toBe(0);

    // Base64 in lines is the same picture: signed, re-encoded as the gateway takes it.
    painter.faults.maxImages = null;
    painter.faults.wrapBase64 = true;
    const wrapped = await ask({ size: "512x512", n: 1 });
    expect(wrapped.outcome).toBe("ok");
    const b64 = (wrapped.payload as { data: { b64_json: string }[] }).data[0]!.b64_json;
    expect(b64).not.toContain("\n");
    expect(Buffer.from(b64, "base64").toString("base64")).toBe(b64);
    painter.faults.wrapBase64 = false;

    painter.faults.halfWidth = true;
    const narrow = await ask({ size: "512x512", n: 1 });
    expect(narrow.outcome).toBe("error");
    expect(narrow.error).toMatchObject({ code: "BACKEND_ERROR" });
    expect(narrow.computeUnits).toBe(0);
  });

  it("says at start that its engine does not answer, instead of leaving it to the first relay", async () => {
    const lines: string[] = [];
    harness = await startTestNode(
      {
        services: [
          {
            serviceId: "stable-diffusion",
            tiers: ["standard"],
            backends: [{ kind: "a1111", url: "http://127.0.0.1:1" }],
          },
        ],
      },
      undefined,
      { log: createLogger({ app: "node-test", level: "warn", write: (line) => lines.push(line) }) },
    );
    const warned = lines
      .map((l) => JSON.parse(l))
      .find((l) => String(l.msg).includes("does not answer at start"));
    expect(warned?.level).toBe("warn");
    expect(warned?.msg).toContain("services.0.backends.0");
    expect(warned?.msg).toContain("BACKEND_UNAVAILABLE");
  });
});

/** `pocket_node_relays_total` of one outcome (all services), from the node's `/metrics` page. */
async function relaysCounted(nodeUrl: string, outcome: string): Promise<number> {
  const text = await (await fetch(`${nodeUrl}/metrics`)).text();
  let sum = 0;
  for (const m of text.matchAll(/^pocket_node_relays_total\{([^}]*)\} (\d+)$/gm))
    if (m[1]!.includes(`outcome="${outcome}"`)) sum += Number(m[2]);
  return sum;
}
