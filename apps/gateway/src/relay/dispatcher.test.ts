import { Effect, Either } from "effect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestNetwork, type TestNetwork } from "../../test/support/test-network.js";
import { dispatchRequest, registered, streamed, unary } from "../../test/support/test-requests.js";
import { NodeRegistry } from "../registry/node-registry.js";
import { NODE_STATS_SWEEP_AT } from "../routing/node-stats.js";
import { Selector } from "../routing/selector.js";
import type { DispatchStreamEvent } from "./dispatcher.js";
import { Dispatcher } from "./dispatcher.js";

let net: TestNetwork;
let nodes: Awaited<ReturnType<TestNetwork["startNode"]>>[];

beforeAll(async () => {
  net = await startTestNetwork({ hedge: { enabled: false } });
  nodes = [await net.startNode(), await net.startNode(), await net.startNode()];
  await registered(net, 3);
}, 60_000);
afterAll(async () => {
  await net.close();
});

const leavesOf = (address: string, sessionId: string) =>
  nodes
    .find((n) => n.address === address)!
    .node.relays.leaves(sessionId, net.key.address)
    .map((l) => l.leafHash);

describe("unary relays", () => {
  it("relays a completion to a session node and returns its verified answer and ledger record", async () => {
    const result = await unary(
      net,
      dispatchRequest("llama-2-13b", { prompt: "The capital of France is", max_tokens: 8 }),
    );
    if (Either.isLeft(result)) throw result.left;
    const { payload, record } = result.right;
    expect(payload.model).toBe("llama-2-13b:standard");
    expect((payload as { choices: { text: string }[] }).choices[0]!.text.length).toBeGreaterThan(0);
    expect(record.servedServiceId).toBe("llama-2-13b");
    expect(record.attempts).toBe(1);
    expect(record.computeUnits).toBe(750);
    expect(record.usage.outputTokens).toBeLessThanOrEqual(8);
    expect(leavesOf(record.nodeAddress, record.sessionId)).toContain(record.leafHash);
  });

  it("serves chat completions on the batch tier and images", async () => {
    const chat = await unary(
      net,
      dispatchRequest(
        "llama-2-13b:batch",
        { messages: [{ role: "user", content: "Hello there" }], max_tokens: 6 },
        {
          operation: "chat.completions",
        },
      ),
    );
    expect(Either.isRight(chat) && chat.right.record.computeUnits).toBe(500);
    const image = await unary(
      net,
      dispatchRequest(
        "stable-diffusion",
        { prompt: "a lighthouse", size: "256x256", n: 1 },
        { operation: "images.generations" },
      ),
    );
    if (Either.isLeft(image)) throw image.left;
    expect((image.right.payload as { data: unknown[] }).data).toHaveLength(1);
    expect(image.right.record.usage.images).toBeGreaterThan(0);
  });

  it("passes a node's chat logprobs as OpenAI shapes them, unary and streamed", async () => {
    type Logprobs = { content: { token: string; top_logprobs: unknown[] }[] };
    const request = dispatchRequest(
      "llama-2-13b",
      {
        messages: [{ role: "user", content: "Tell me about the weather." }],
        max_tokens: 16,
        temperature: 1.5,
        seed: 4,
        logprobs: true,
        top_logprobs: 2,
      },
      { operation: "chat.completions" },
    );
    // At most top_logprobs alternatives per token (the sampled token only if it is one of them),
    // token names adding up to the reply: what the checks hold a node to, and what it answers.
    const expectShape = (reply: string, logprobs: Logprobs["content"]) => {
      expect(logprobs.map((entry) => entry.token).join("")).toBe(reply);
      for (const entry of logprobs) expect(entry.top_logprobs).toHaveLength(2);
    };
    const answer = await unary(net, request);
    if (Either.isLeft(answer)) throw answer.left;
    expect(answer.right.record.attempts).toBe(1);
    const choice = (
      answer.right.payload as { choices: { message: { content: string }; logprobs: Logprobs }[] }
    ).choices[0]!;
    expectShape(choice.message.content, choice.logprobs.content);

    const events = await streamed(net, request);
    if (Either.isLeft(events)) throw events.left;
    const choices = events.right.flatMap((e) =>
      e.type === "data"
        ? (e.data.choices as { delta: { content?: string }; logprobs?: Logprobs | null }[])
        : [],
    );
    expect(events.right.at(-1)).toMatchObject({ type: "final", outcome: "ok" });
    expectShape(
      choices.map((c) => c.delta.content ?? "").join(""),
      choices.flatMap((c) => c.logprobs?.content ?? []),
    );
  });

  it("returns a refusal about the request to the caller without trying another node", async () => {
    const result = await unary(
      net,
      dispatchRequest("llama-2-13b", { prompt: "word ".repeat(400), max_tokens: 4 }),
    );
    expect(Either.isLeft(result) && result.left).toMatchObject({ code: "INPUT_TOO_LONG", attempts: 1 });
  });

  it("sends an evaluator's relay to the target node only", async () => {
    for (const target of nodes.map((n) => n.address)) {
      const result = await unary(
        net,
        dispatchRequest("llama-2-13b", { prompt: "Once upon a time", max_tokens: 4 }, { targetNode: target }),
      );
      expect(Either.isRight(result) && result.right.record.nodeAddress).toBe(target);
    }
    const unknown = await unary(
      net,
      dispatchRequest("llama-2-13b", { prompt: "Hi", max_tokens: 4 }, { targetNode: net.key.address }),
    );
    expect(Either.isLeft(unknown) && unknown.left.code).toBe("NO_NODES_AVAILABLE");
  });

  it("lists what can be served", async () => {
    const available = await net.managed.runPromise(Effect.map(Dispatcher, (d) => d.availability()));
    expect(available.get("llama-2-13b:standard")).toMatchObject({ nodes: 3 });
    expect(available.get("stable-diffusion:standard")).toMatchObject({ nodes: 3 });
    // Per feature, how many of those nodes support it: the dev text backend streams and scores prompts.
    expect(available.get("llama-2-13b:standard")?.capabilities).toMatchObject({
      streaming: 3,
      promptLogprobs: 3,
    });
    expect(available.has("mistral-7b:standard")).toBe(false);
    expect(available.has("quality-gpt-3.5:standard")).toBe(false);
  });
});

describe("streams", () => {
  it("yields verified chunks and ends with an ok final event whose leaf the node holds", async () => {
    const result = await streamed(
      net,
      dispatchRequest(
        "llama-2-13b",
        { messages: [{ role: "user", content: "Tell me a story" }], max_tokens: 12 },
        {
          operation: "chat.completions",
        },
      ),
    );
    if (Either.isLeft(result)) throw result.left;
    const events = result.right;
    const data = events.filter((e) => e.type === "data");
    expect(data.length).toBeGreaterThan(0);
    for (const e of data) expect(e.data.model).toBe("llama-2-13b:standard");
    const last = events[events.length - 1] as Extract<DispatchStreamEvent, { type: "final" }>;
    expect(last).toMatchObject({ type: "final", outcome: "ok" });
    expect(last.ttftMs).toBeGreaterThan(0);
    expect(last.record!.usage.outputTokens).toBeGreaterThan(0);
    expect(leavesOf(last.record!.nodeAddress, last.record!.sessionId)).toContain(last.record!.leafHash);
  });

  it("refuses an over-limit stream before the first byte", async () => {
    const result = await streamed(net, dispatchRequest("llama-2-13b", { prompt: "word ".repeat(400) }));
    expect(Either.isLeft(result) && result.left).toMatchObject({ code: "INPUT_TOO_LONG", attempts: 1 });
  });
});

describe("routing stats", () => {
  it("are kept for registered nodes and forgotten for keys that are not registered", async () => {
    const { before, size, after } = await net.managed.runPromise(
      Effect.gen(function* () {
        const selector = yield* Selector;
        const now = Date.now();
        const before = nodes.map((n) => selector.stats.view(n.address, now));
        // Relays to keys the registry no longer holds (short-lived nodes that came and went).
        for (let i = 0; i < 4 * NODE_STATS_SWEEP_AT; i++) selector.stats.failure(`gone-${i}`);
        const after = nodes.map((n) => selector.stats.view(n.address, now));
        return { before, size: selector.stats.size, after };
      }),
    );
    expect(size).toBeLessThanOrEqual(2 * NODE_STATS_SWEEP_AT);
    expect(after).toEqual(before);
    expect(before.some((v) => v.relays > 0)).toBe(true);
  });
});

describe("a node that is down", () => {
  it("is retried elsewhere before the first byte, then marked down", async () => {
    const [dead, alive] = [nodes[2]!, nodes[1]!];
    await dead.stop();
    // Make the dead node the only one the selector wants: the others are sanctioned (for this test).
    await net.managed.runPromise(
      Effect.gen(function* () {
        const selector = yield* Selector;
        const registry = yield* NodeRegistry;
        registry.recordProbe(dead.address, true, Date.now(), 1);
        for (const n of nodes) if (n !== dead) selector.sanction(n.address, Date.now(), "test");
      }),
    );
    const result = await unary(net, dispatchRequest("llama-2-13b", { prompt: "Hello", max_tokens: 4 }));
    if (Either.isLeft(result)) throw result.left;
    expect(result.right.record.attempts).toBe(2);
    expect([alive.address, nodes[0]!.address]).toContain(result.right.record.nodeAddress);
    const healthy = await net.managed.runPromise(Effect.map(NodeRegistry, (r) => r.isHealthy(dead.address)));
    expect(healthy).toBe(false);
    expect(net.metrics.render()).toMatch(/pocket_gateway_relay_retries_total \d/);
  });
});
