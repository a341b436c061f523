import { type FakeTextEngine, startFakeVllm } from "@pocket-ai/node/fakes";
import { deriveSessionId, GATEWAY_OWN_CODES, sessionNumberAt } from "@pocket-ai/protocol";
import { Effect, Either } from "effect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestNetwork, type TestNetwork } from "../../test/support/test-network.js";
import { dispatchRequest, registered, streamed, unary } from "../../test/support/test-requests.js";
import { RoutingConfig } from "../routing/routing-config.js";
import { Dispatcher } from "./dispatcher.js";

let net: TestNetwork;
let fake: FakeTextEngine;
let llamacpp: Awaited<ReturnType<TestNetwork["startNode"]>>;
let dev: Awaited<ReturnType<TestNetwork["startNode"]>>;

beforeAll(async () => {
  fake = await startFakeVllm({ flavor: "llamacpp" });
  net = await startTestNetwork({ hedge: { enabled: false }, organic: { share: 1 } });
  llamacpp = await net.startNode({ backend: { kind: "llamacpp", url: fake.url } });
  dev = await net.startNode();
  await registered(net, 2);
}, 60_000);
afterAll(async () => {
  await net.close();
  await fake.close();
});

describe("evaluator-targeted relays", () => {
  it("reach a node whose backend cannot return prompt logprobs, which refuses with UNSUPPORTED_PARAMETER", async () => {
    const body = { prompt: "Two plus two is four", max_tokens: 0, echo: true, logprobs: 1 };
    const result = await unary(net, dispatchRequest("llama-2-13b", body, { targetNode: llamacpp.address }));
    expect(Either.isLeft(result) && result.left.code).toBe("UNSUPPORTED_PARAMETER");
    // Untargeted, the same request goes to a node that can answer it.
    const routed = await unary(net, dispatchRequest("llama-2-13b", body));
    expect(Either.isRight(routed) && routed.right.record.nodeAddress).toBe(dev.address);
  });

  it("can measure a node for a quality service before it qualifies, under the node's model service", async () => {
    const result = await unary(
      net,
      dispatchRequest(
        "quality-gpt-3.5",
        { prompt: "The capital of France is", max_tokens: 4 },
        { targetNode: dev.address },
      ),
    );
    if (Either.isLeft(result)) throw result.left;
    expect(result.right.record.servedServiceId).toBe("llama-2-13b");
    expect(result.right.payload.model).toBe("quality-gpt-3.5:standard");
    // Without targeting, an unqualified node is not a route for the quality service.
    const untargeted = await unary(net, dispatchRequest("quality-gpt-3.5", { prompt: "Hi", max_tokens: 2 }));
    expect(Either.isLeft(untargeted) && untargeted.left.code).toBe("NO_NODES_AVAILABLE");
  });

  it("travel in a probe application's session, never the evaluator's own, and are not counted as customer traffic", async () => {
    const mix = () => net.managed.runPromise(Effect.map(Dispatcher, (d) => d.trafficMix?.()));
    const before = (await mix())?.total ?? 0;
    const request = dispatchRequest(
      "llama-2-13b",
      { prompt: "The capital of France is", max_tokens: 3, temperature: 0.7 },
      { targetNode: dev.address },
    );
    const sessions = new Set<string>();
    for (let i = 0; i < 6; i++) {
      const result = await unary(net, request);
      if (Either.isLeft(result)) throw result.left;
      sessions.add(result.right.record.sessionId);
      const own = deriveSessionId(
        request.application.address,
        "llama-2-13b",
        sessionNumberAt(RoutingConfig.parse({}).session, Date.now()),
      );
      expect(result.right.record.sessionId).not.toBe(own);
    }
    // The probes spread over several probe applications of the pool.
    expect(sessions.size).toBeGreaterThan(1);
    expect((await mix())?.total ?? 0).toBe(before);
    // A customer's relays are counted by shape (parameters only).
    const customer = dispatchRequest("llama-2-13b", {
      prompt: "The capital of France is",
      max_tokens: 3,
      temperature: 0.7,
    });
    const sent = await streamed(net, customer);
    expect(Either.isRight(sent)).toBe(true);
    const after = await mix();
    expect(after?.total).toBe(before + 1);
  });

  it("hold customers' completions in memory for organic checks, hand each out once, never a probe's", async () => {
    const take = (node: string) =>
      net.managed.runPromise(Effect.map(Dispatcher, (d) => d.organicSamples?.(node, 10) ?? []));
    // Customer relays of the tests above (a streamed completion among them) were sampled too.
    await take(dev.address);
    await take(llamacpp.address);
    const probe = await unary(
      net,
      dispatchRequest("llama-2-13b", { prompt: "One two three", max_tokens: 4 }, { targetNode: dev.address }),
    );
    expect(Either.isRight(probe)).toBe(true);
    expect(await take(dev.address)).toEqual([]);
    const customer = await unary(
      net,
      dispatchRequest("llama-2-13b", { prompt: "The capital of France is", max_tokens: 4, temperature: 0.5 }),
    );
    if (Either.isLeft(customer)) throw customer.left;
    const node = customer.right.record.nodeAddress;
    const samples = await take(node);
    expect(samples).toHaveLength(1);
    expect(samples[0]).toMatchObject({
      nodeAddress: node,
      serviceId: "llama-2-13b",
      prompt: "The capital of France is",
      params: { max_tokens: 4, temperature: 0.5 },
    });
    expect(samples[0]!.output).toBe((customer.right.payload.choices as { text: string }[])[0]!.text);
    expect(await take(node)).toEqual([]);
  });

  it("hold a customer's streamed chat once it ended normally, with the text the client was passed", async () => {
    const take = (node: string, kinds?: ("completions" | "chat")[]) =>
      net.managed.runPromise(Effect.map(Dispatcher, (d) => d.organicSamples?.(node, 10, kinds) ?? []));
    const messages = [{ role: "user", content: "Tell me about the sea." }];
    const outcomes = new Set<string>();
    // Both nodes serve it in turn; a stream the gateway cut (the llama.cpp stand-in's text counts
    // past max_tokens) is never held, one that ended normally is.
    for (let i = 0; i < 16 && !outcomes.has("held"); i++) {
      const events = await streamed(
        net,
        dispatchRequest(
          "llama-2-13b",
          { messages, max_tokens: 12, temperature: 0.9 },
          { operation: "chat.completions" },
        ),
      );
      if (Either.isLeft(events)) throw events.left;
      const last = events.right[events.right.length - 1];
      if (last?.type !== "final" || last.record === undefined) throw new Error("no final event");
      const delivered = events.right
        .flatMap((e) => (e.type === "data" ? (e.data.choices as { delta?: { content?: string } }[]) : []))
        .map((c) => c.delta?.content ?? "")
        .join("");
      const node = last.record.nodeAddress;
      // The gateway holds no empty answer (the engine may sample its end at once): not one to wait for.
      const held = last.outcome === "ok" && delivered !== "";
      outcomes.add(held ? "held" : last.outcome);
      // An evaluator that reads completions samples only is not handed the chat.
      expect(await take(node)).toEqual([]);
      expect(await take(node, ["completions", "chat"])).toEqual(
        held
          ? [
              {
                kind: "chat",
                nodeAddress: node,
                serviceId: "llama-2-13b",
                messages,
                output: delivered,
                params: { max_tokens: 12, temperature: 0.9 },
                stream: true,
              },
            ]
          : [],
      );
    }
    expect(outcomes.has("held")).toBe(true);
  });

  it("fail as NODE_FAILED, never with a code a measuring client excuses, when the pinned node fails them itself", async () => {
    // Every node may be tried for an unpinned relay: the honest one always answers it.
    const pinned = await startTestNetwork({ hedge: { enabled: false }, retry: { maxAttempts: 10 } });
    try {
      const dodgers = {
        "rate-limited": await pinned.startNode({ misbehave: "rate-limited" }),
        "unknown-service": await pinned.startNode({ misbehave: "unknown-service" }),
        "uncoded-error": await pinned.startNode({ misbehave: "uncoded-error" }),
      };
      const honest = await pinned.startNode();
      await registered(pinned, 4);
      const body = { prompt: "A hard item the node would rather not answer", max_tokens: 4 };
      /** A relay pinned to `node`, and the code it failed with ("answered" when it did not). */
      const pin = async (model: string, payload: Record<string, unknown>, node: string) => {
        const result = await unary(pinned, dispatchRequest(model, payload, { targetNode: node }));
        return Either.isLeft(result) ? result.left.code : "answered";
      };
      for (const [mode, node] of Object.entries(dodgers)) {
        const code = await pin("llama-2-13b", body, node.address);
        expect({ mode, code }).toEqual({ mode, code: "NODE_FAILED" });
        expect(GATEWAY_OWN_CODES.has(code as never)).toBe(false);
        // A customer's relay is not pinned: the gateway tries another node, whose answer it gets.
        const routed = await unary(pinned, dispatchRequest("llama-2-13b", body));
        expect(Either.isRight(routed) && routed.right.record.nodeAddress).toBe(honest.address);
      }
      // A node that announced prompt logprobs and then refuses them, or answers without them: its
      // answer is a lie, never a capability the evaluator would leave the item unscored for.
      const scoring = { prompt: "Two plus two is four", max_tokens: 0, echo: true, logprobs: 1 };
      const liars = [
        await pinned.startNode({ misbehave: "unsupported-parameter" }),
        await pinned.startNode({ misbehave: "no-logprobs" }),
        await pinned.startNode({ misbehave: "null-logprobs" }),
      ];
      await registered(pinned, 7);
      for (const liar of liars)
        expect(await pin("llama-2-13b", scoring, liar.address)).toBe("INVALID_NODE_RESPONSE");
      // An empty prompt has no token to score: the honest node's answer without them stands.
      expect(await pin("llama-2-13b", { ...scoring, prompt: "" }, honest.address)).toBe("answered");
      // A known node pinned for a model it does not announce (withdrawn between two relays of one
      // item, say) fails the probe too; an address the gateway never knew is the gateway's answer.
      expect(await pin("mistral-7b", body, honest.address)).toBe("NODE_FAILED");
      expect(await pin("mistral-7b", body, pinned.key.address)).toBe("NO_NODES_AVAILABLE");
    } finally {
      await pinned.close();
    }
  });
});
