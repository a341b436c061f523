import { DEFAULT_CATALOG } from "@pocket-ai/protocol";
import { Effect, Either } from "effect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestNetwork, type TestNetwork } from "../../test/support/test-network.js";
import { dispatchRequest, registered, streamed, unary } from "../../test/support/test-requests.js";
import { prepareRelay } from "../openai/prepare-request.js";
import { chargeFor } from "../openai/relay-charge.js";
import { Selector } from "../routing/selector.js";
import type { DispatchStreamEvent } from "./dispatcher.js";

type TestNode = Awaited<ReturnType<TestNetwork["startNode"]>>;
let net: TestNetwork;
let good: TestNode;
let slow: TestNode;
let forger: TestNode;
let cutter: TestNode;
let splicer: TestNode;

beforeAll(async () => {
  net = await startTestNetwork({ hedge: { enabled: true, afterMs: 1_000 } });
  good = await net.startNode();
  slow = await net.startNode({ backend: { firstTokenMs: 15_000 } });
  forger = await net.startNode({ misbehave: "bad-signature" });
  cutter = await net.startNode({ misbehave: "cut-stream", backend: { tokensPerSecond: 200 } });
  splicer = await net.startNode({ misbehave: "bad-chunk" });
  await registered(net, 5);
}, 60_000);
afterAll(async () => {
  await net.close();
});

/** The test network's sanction length (the routing default). */
const SANCTION_MS = 60_000;

/** Sanctions every node but `preferred`, so the selector draws it first (for this test). */
const prefer = (preferred: TestNode) =>
  net.managed.runPromise(
    Effect.gen(function* () {
      const selector = yield* Selector;
      for (const n of [good, slow, forger, cutter, splicer]) {
        if (n === preferred) selector.stats.clearSanction(n.address);
        else selector.sanction(n.address, Date.now(), "test preference");
      }
    }),
  );
const sanctionOf = (node: TestNode) =>
  net.managed.runPromise(Effect.map(Selector, (s) => s.stats.view(node.address, Date.now()).sanctionReason));
const final = (events: DispatchStreamEvent[]) =>
  events[events.length - 1] as Extract<DispatchStreamEvent, { type: "final" }>;
const story = (model = "llama-2-13b") =>
  dispatchRequest(
    model,
    { messages: [{ role: "user", content: "Tell me a long story" }], max_tokens: 40, ignore_eos: true },
    {
      operation: "chat.completions",
    },
  );

describe("invalid answers", () => {
  it("sanction a node whose signature does not verify and succeed elsewhere", async () => {
    await prefer(forger);
    const result = await unary(net, dispatchRequest("llama-2-13b", { prompt: "Hello", max_tokens: 4 }, {}));
    if (Either.isLeft(result)) throw result.left;
    expect(result.right.record.nodeAddress).not.toBe(forger.address);
    expect(result.right.record.attempts).toBeGreaterThanOrEqual(2);
    expect(await sanctionOf(forger)).toMatch(/INVALID_SIGNATURE/);
    expect(net.metrics.render()).toContain('pocket_gateway_node_sanctions_total{reason="invalid_response"}');
  });
});

describe("hedging", () => {
  it("starts a second node when the first is slow and keeps the first good answer", async () => {
    await prefer(slow);
    // The good node's sanction ends half-way to the hedge: the first draw can only be the slow
    // node, and the hedge a second later can only be the good one.
    await net.managed.runPromise(
      Effect.flatMap(Selector, (selector) =>
        Effect.sync(() =>
          selector.sanction(good.address, Date.now() - SANCTION_MS + 500, "test: until the hedge"),
        ),
      ),
    );
    const result = await unary(net, dispatchRequest("llama-2-13b", { prompt: "Hello", max_tokens: 4 }));
    if (Either.isLeft(result)) throw result.left;
    // The hedge answered: the slow node (15 s to its first token) was asked first, another node won.
    expect(result.right.record.nodeAddress).not.toBe(slow.address);
    expect(net.metrics.render()).toMatch(/pocket_gateway_relay_hedges_total [1-9]/);
  });
});

describe("streams that fail mid-way", () => {
  it("end with a STREAM_INTERRUPTED final event and a record of what was delivered", async () => {
    const result = await streamed(net, { ...story(), targetNode: cutter.address });
    if (Either.isLeft(result)) throw result.left;
    const events = result.right;
    expect(events.filter((e) => e.type === "data").length).toBeGreaterThan(0);
    const last = final(events);
    expect(last).toMatchObject({ outcome: "error", error: { code: "STREAM_INTERRUPTED" } });
    expect(last.record?.nodeAddress).toBe(cutter.address);
    expect(last.record?.computeUnits).toBe(0);
  });

  it("bill exactly the text pieces received before the cut, with the front door's input count", async () => {
    const request = { ...story(), targetNode: cutter.address };
    const result = await streamed(net, request);
    if (Either.isLeft(result)) throw result.left;
    const received = result.right
      .flatMap((e) => (e.type === "data" ? [e.data] : []))
      .map(
        (data) => (data as { choices: { delta?: { content?: string } }[] }).choices[0]?.delta?.content ?? "",
      )
      .filter((text) => text !== "").length;
    expect(received).toBeGreaterThan(0);
    const prepared = prepareRelay(DEFAULT_CATALOG, "chat.completions", request.body);
    if (!prepared.ok) throw new Error(prepared.error.message);
    const usage = final(result.right).record!.usage;
    expect(usage).toEqual({ inputTokens: prepared.value.inputTokens, outputTokens: received });
    // received of the 40 allowed output tokens: that share of the 750 µUSD call, rounded up.
    expect(chargeFor(prepared.value, usage, "interrupted").costMicroUsd).toBe(
      Math.ceil((750 * received) / 40),
    );
  });

  it("stop at a spliced chunk, sanction the node and never yield the bad chunk", async () => {
    const result = await streamed(net, { ...story(), targetNode: splicer.address });
    if (Either.isLeft(result)) throw result.left;
    const events = result.right;
    expect(events.filter((e) => e.type === "data")).toHaveLength(2);
    expect(final(events)).toMatchObject({ outcome: "error", error: { code: "STREAM_INTERRUPTED" } });
    expect(await sanctionOf(splicer)).toMatch(/INVALID_SIGNATURE/);
  });
});

describe("quality services", () => {
  it("route to nodes the evaluator qualifies, served under their model service", async () => {
    const unavailable = await unary(net, dispatchRequest("quality-gpt-3.5", { prompt: "Hi", max_tokens: 4 }));
    expect(Either.isLeft(unavailable) && unavailable.left.code).toBe("NO_NODES_AVAILABLE");
    const score = (address: string, qualifies: string[]) => ({
      address,
      serviceId: "llama-2-13b",
      categories: {},
      overall: { mean: 0.7, lower: 0.65, upper: 0.75, n: 200 },
      qualifies,
      speed: { ttftP10Ms: 100, tokensPerSecondP10: 30, samples: 20 },
      errorRate: 0,
      identity: {
        sharedBackendGroup: null,
        declaredModel: "llama-2-13b",
        modelTest: "consistent" as const,
        modelTestPValue: 0.5,
      },
      loglikelihood: "supported" as const,
      updatedAt: Date.now(),
    });
    net.setBoard({
      evaluator: "test-evaluator",
      generatedAt: Date.now(),
      nodes: [score(good.address, ["quality-gpt-3.5"]), score(slow.address, [])],
    });
    await new Promise((r) => setTimeout(r, 400));
    const result = await unary(
      net,
      dispatchRequest("quality-gpt-3.5:batch", { prompt: "Hi", max_tokens: 4 }),
    );
    if (Either.isLeft(result)) throw result.left;
    expect(result.right.record).toMatchObject({
      nodeAddress: good.address,
      servedServiceId: "llama-2-13b",
      computeUnits: 500,
    });
    expect(result.right.payload.model).toBe("quality-gpt-3.5:batch");
    const stream = await streamed(net, story("quality-gpt-3.5"));
    expect(Either.isRight(stream) && final(stream.right).outcome).toBe("ok");
  });
});
