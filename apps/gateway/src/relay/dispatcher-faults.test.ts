import { readPngHeader } from "@pocket-ai/png";
import { DEFAULT_CATALOG } from "@pocket-ai/protocol";
import { Effect, Either, Fiber } from "effect";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { startTestNetwork, type TestNetwork } from "../../test/support/test-network.js";
import { dispatchRequest, registered, streamed, unary } from "../../test/support/test-requests.js";
import { prepareRelay } from "../openai/prepare-request.js";
import { chargeFor } from "../openai/relay-charge.js";
import { Selector } from "../routing/selector.js";
import { ScoresPoller } from "../scores/scores-poller.js";
import { Dispatcher, type DispatchStreamEvent } from "./dispatcher.js";

type TestNode = Awaited<ReturnType<TestNetwork["startNode"]>>;
let net: TestNetwork;
let good: TestNode;
let forger: TestNode;
let cutter: TestNode;
let splicer: TestNode;
let gapCutter: TestNode;
let tailForger: TestNode;
let shrinker: TestNode;

beforeAll(async () => {
  net = await startTestNetwork({ hedge: { enabled: false } });
  good = await net.startNode();
  // Signing every chunk: each of their chunks is a signed head.
  const everyChunk = { everyChunks: 1 };
  forger = await net.startNode({ misbehave: "bad-signature", streamHeads: everyChunk });
  cutter = await net.startNode({
    misbehave: "cut-stream",
    backend: { tokensPerSecond: 200 },
    streamHeads: everyChunk,
  });
  splicer = await net.startNode({ misbehave: "bad-chunk", streamHeads: everyChunk });
  // Heads only on the first and the final chunk (no time-based head, whatever the machine's speed).
  const firstAndLast = { everyChunks: 1024, everyMs: 3_600_000 };
  gapCutter = await net.startNode({
    misbehave: "cut-stream",
    backend: { tokensPerSecond: 200 },
    streamHeads: firstAndLast,
  });
  tailForger = await net.startNode({ misbehave: "forged-tail", streamHeads: firstAndLast });
  shrinker = await net.startNode({ misbehave: "small-image" });
  await registered(net, 7);
}, 60_000);
afterAll(async () => {
  await net.close();
});

/** Sanctions every node but `preferred`, so the selector draws it first (for this test). */
const prefer = (preferred: TestNode) =>
  net.managed.runPromise(
    Effect.gen(function* () {
      const selector = yield* Selector;
      for (const n of [good, forger, cutter, splicer, gapCutter, tailForger, shrinker]) {
        if (n === preferred) selector.stats.clearSanction(n.address);
        else selector.sanction(n.address, Date.now(), "test preference");
      }
    }),
  );
const sanctionOf = (node: TestNode) =>
  net.managed.runPromise(Effect.map(Selector, (s) => s.stats.view(node.address, Date.now()).sanctionReason));
const final = (events: DispatchStreamEvent[]) =>
  events[events.length - 1] as Extract<DispatchStreamEvent, { type: "final" }>;
/** Text pieces (non-empty chat deltas) among data events. */
const textPieces = (events: readonly DispatchStreamEvent[]) =>
  events
    .flatMap((e) => (e.type === "data" ? [e.data] : []))
    .map((data) => (data as { choices: { delta?: { content?: string } }[] }).choices[0]?.delta?.content ?? "")
    .filter((text) => text !== "").length;
const story = (model = "llama-2-13b") =>
  dispatchRequest(
    model,
    { messages: [{ role: "user", content: "Tell me a long story" }], max_tokens: 40, ignore_eos: true },
    {
      operation: "chat.completions",
    },
  );

/**
 * A network of an honest node and a misbehaving one (hedging on) where the misbehaving one is drawn
 * first and the honest node next: the honest node is sanctioned until the hedge timer is armed,
 * after the first draw; the hedge itself never comes due. `sanctionHonest` puts it back before
 * another relay.
 */
async function refuserFirst(
  refuserOptions: Parameters<TestNetwork["startNode"]>[0],
  /** Called when the round cancels the (never due) hedge timer. */
  onTimerCancelled: () => void = () => undefined,
) {
  let honest!: TestNode;
  let selector!: Selector["Type"];
  const network = await startTestNetwork(
    { hedge: { enabled: true, afterMs: 1_000 } },
    {
      hedgeTimer: () => {
        selector.stats.clearSanction(honest.address);
        return onTimerCancelled;
      },
    },
  );
  honest = await network.startNode();
  const refuser = await network.startNode(refuserOptions);
  await registered(network, 2);
  selector = await network.managed.runPromise(Selector);
  const sanctionHonest = () => selector.sanction(honest.address, Date.now(), "test: not first");
  sanctionHonest();
  return { network, honest, refuser, selector, sanctionHonest };
}

describe("invalid answers", () => {
  it("sanction a node whose signature does not verify and succeed elsewhere", async () => {
    await prefer(forger);
    const result = await unary(net, dispatchRequest("llama-2-13b", { prompt: "Hello", max_tokens: 4 }, {}));
    if (Either.isLeft(result)) throw result.left;
    expect(result.right.record.nodeAddress).not.toBe(forger.address);
    expect(result.right.record.attempts).toBeGreaterThanOrEqual(2);
    expect(await sanctionOf(forger)).toMatch(/^BAD_SIGNATURE: /);
    expect(net.metrics.render()).toContain('pocket_gateway_node_sanctions_total{reason="invalid_response"}');
  });

  it("sanction a node whose signed pictures are not of the size asked, and serve the pictures elsewhere", async () => {
    const pictures = (targetNode?: string) =>
      unary(
        net,
        dispatchRequest(
          "stable-diffusion",
          { prompt: "a lighthouse", size: "256x256", n: 2 },
          { operation: "images.generations", ...(targetNode === undefined ? {} : { targetNode }) },
        ),
      );
    // Sent to the shrinking node alone: its 1x1 pictures, under its valid signature, are refused.
    const refused = await pictures(shrinker.address);
    expect(Either.isLeft(refused) && refused.left.code).toBe("INVALID_NODE_RESPONSE");
    expect(await sanctionOf(shrinker)).toMatch(/image 0 is 1x1, not the 256x256 asked for/);
    // From an honest node: the pictures asked for.
    await prefer(good);
    const served = await pictures();
    if (Either.isLeft(served)) throw served.left;
    expect(served.right.record.nodeAddress).toBe(good.address);
    const data = (served.right.payload as { data: { b64_json: string }[] }).data;
    expect(data.map((item) => readPngHeader(Buffer.from(item.b64_json, "base64")))).toMatchObject([
      { width: 256, height: 256 },
      { width: 256, height: 256 },
    ]);
  });
});

describe("hedging", () => {
  it("starts a second node when the first is slow and keeps the first good answer", async () => {
    // A network of its own whose hedge timer is a gate the test opens: the hedge starts when the
    // test says, after the first node was drawn, so no wall-clock margin decides the outcome.
    const HEDGE_MS = 1_000;
    let armed!: (ms: number) => void;
    const hedgeArmed = new Promise<number>((resolve) => {
      armed = resolve;
    });
    let fireHedge!: () => void;
    const hedged = await startTestNetwork(
      { hedge: { enabled: true, afterMs: HEDGE_MS } },
      {
        hedgeTimer: (ms, fire) => {
          fireHedge = fire;
          armed(ms);
          return () => undefined;
        },
      },
    );
    try {
      const quick = await hedged.startNode();
      // The slow node's first token would take ten minutes: only the hedge can answer in time.
      const slow = await hedged.startNode({ backend: { firstTokenMs: 600_000 } });
      await registered(hedged, 2);
      const selector = await hedged.managed.runPromise(Selector);
      selector.sanction(quick.address, Date.now(), "test: not before the hedge");
      const answer = unary(hedged, dispatchRequest("llama-2-13b", { prompt: "Hello", max_tokens: 4 }));
      // The hedge is armed only after the first draw, which could only be the slow node.
      expect(await hedgeArmed).toBe(HEDGE_MS);
      selector.stats.clearSanction(quick.address);
      fireHedge();
      const result = await answer;
      if (Either.isLeft(result)) throw result.left;
      expect(result.right.record.nodeAddress).toBe(quick.address);
      expect(result.right.record.attempts).toBe(2);
      expect(hedged.metrics.render()).toMatch(/pocket_gateway_relay_hedges_total 1\b/);
      // The slow node's call was cancelled with the race: its relay does not stay in flight there.
      await vi.waitFor(() => expect(slow.node.relays.inFlight()).toBe(0), { timeout: 10_000 });
    } finally {
      await hedged.close();
    }
  });

  it("starts the second node at once when the first fails before the hedge is due, without counting a hedge", async () => {
    let timerCancelled = false;
    const {
      network: hedged,
      honest: quick,
      refuser: liar,
      selector,
    } = await refuserFirst({ misbehave: "bad-signature" }, () => {
      timerCancelled = true;
    });
    try {
      const result = await unary(hedged, dispatchRequest("llama-2-13b", { prompt: "Hello", max_tokens: 4 }));
      if (Either.isLeft(result)) throw result.left;
      expect(result.right.record.nodeAddress).toBe(quick.address);
      expect(result.right.record.attempts).toBe(2);
      expect(timerCancelled).toBe(true);
      const metrics = hedged.metrics.render();
      expect(metrics).not.toMatch(/pocket_gateway_relay_hedges_total [1-9]/);
      expect(metrics).toContain('pocket_gateway_node_sanctions_total{reason="invalid_response"} 1');
      expect(selector.stats.view(liar.address, Date.now()).sanctionReason).toBeDefined();
    } finally {
      await hedged.close();
    }
  });

  it("asks another node before it believes an INPUT_TOO_LONG it can only bound, and counts the refusal as disproved", async () => {
    const { network, honest, refuser, selector } = await refuserFirst({ misbehave: "input-too-long" });
    try {
      // 40 long words: a few dozen tokens for any tokenizer, but over the tier's 200 by the UTF-8
      // bound the gateway counts with when it lacks the node's tokenizer.
      const prompt = Array.from({ length: 40 }, () => "information").join(" ");
      const result = await unary(network, dispatchRequest("llama-2-13b", { prompt, max_tokens: 4 }));
      if (Either.isLeft(result)) throw result.left;
      expect(result.right.record.nodeAddress).toBe(honest.address);
      expect(selector.engineRefusals.disprovedCount("llama-2-13b", refuser.address)).toBe(1);
    } finally {
      await network.close();
    }
  });

  it("lets a running hedge answer what the first node's engine refused, and counts that refusal as disproved", async () => {
    let fireHedge!: () => void;
    let armed!: () => void;
    const hedgeArmed = new Promise<void>((resolve) => {
      armed = resolve;
    });
    const hedged = await startTestNetwork(
      { hedge: { enabled: true, afterMs: 1_000 } },
      {
        hedgeTimer: (_ms, fire) => {
          fireHedge = fire;
          armed();
          return () => undefined;
        },
      },
    );
    // Both nodes answer only when the test opens their gate: the refusal reaches the gateway while
    // the hedge is still running, whatever the machine's load.
    let refuse!: () => void;
    let answer!: () => void;
    const refuserGate = new Promise<void>((resolve) => {
      refuse = resolve;
    });
    const answerGate = new Promise<void>((resolve) => {
      answer = resolve;
    });
    try {
      const honest = await hedged.startNode({ misbehave: "honest", hold: answerGate });
      const refuser = await hedged.startNode({ misbehave: "engine-rejected", hold: refuserGate });
      await registered(hedged, 2);
      const selector = await hedged.managed.runPromise(Selector);
      selector.sanction(honest.address, Date.now(), "test: not first");
      const result = unary(hedged, dispatchRequest("llama-2-13b", { prompt: "Hello", max_tokens: 4 }));
      await hedgeArmed;
      selector.stats.clearSanction(honest.address);
      fireHedge();
      refuse();
      const refusals = () =>
        hedged.metrics
          .render()
          .split("\n")
          .some((line) => line.includes(refuser.address) && line.includes('outcome="ENGINE_REJECTED"'));
      await vi.waitFor(() => expect(refusals()).toBe(true), { timeout: 10_000 });
      answer();
      const answered = await result;
      if (Either.isLeft(answered)) throw answered.left;
      expect(answered.right.record.nodeAddress).toBe(honest.address);
      expect(answered.right.record.attempts).toBe(2);
      expect(selector.engineRefusals.disprovedCount("llama-2-13b", refuser.address)).toBe(1);
    } finally {
      refuse();
      answer();
      await hedged.close();
    }
  });

  it("cancels both attempts when the relay is interrupted", async () => {
    let fireHedge!: () => void;
    const hedged = await startTestNetwork(
      { hedge: { enabled: true, afterMs: 1_000 }, retry: { maxAttempts: 2 } },
      {
        hedgeTimer: (_ms, fire) => {
          fireHedge = fire;
          return () => undefined;
        },
      },
    );
    try {
      const slowA = await hedged.startNode({ backend: { firstTokenMs: 600_000 } });
      const slowB = await hedged.startNode({ backend: { firstTokenMs: 600_000 } });
      await registered(hedged, 2);
      // Each node's text latency as measured before (a wait given up on raises an estimate only).
      await hedged.managed.runPromise(
        Effect.map(Selector, (s) => {
          for (const slow of [slowA, slowB]) s.stats.success(slow.address, "text", 0);
        }),
      );
      const request = dispatchRequest("llama-2-13b", { prompt: "Hello", max_tokens: 4 });
      const fiber = hedged.managed.runFork(Effect.flatMap(Dispatcher, (d) => d.unary(request)));
      await vi.waitFor(() => expect(fireHedge).toBeDefined(), { timeout: 10_000 });
      fireHedge();
      // Both nodes hold the relay, then the caller goes away: both calls are cancelled.
      await vi.waitFor(() => expect(slowA.node.relays.inFlight() + slowB.node.relays.inFlight()).toBe(2), {
        timeout: 10_000,
      });
      await hedged.managed.runPromise(Fiber.interrupt(fiber));
      await vi.waitFor(() => expect(slowA.node.relays.inFlight() + slowB.node.relays.inFlight()).toBe(0), {
        timeout: 10_000,
      });
      expect(hedged.metrics.render()).toMatch(/pocket_gateway_relay_hedges_total 1\b/);
      // Neither answered while it was asked: each one's latency is known to be at least that long,
      // and neither counts as failing for it.
      for (const slow of [slowA, slowB]) {
        const view = await hedged.managed.runPromise(
          Effect.map(Selector, (s) => s.stats.view(slow.address, Date.now())),
        );
        expect(view.latencyMs.text).toBeGreaterThan(0);
        expect(view).toMatchObject({ relays: 1, failures: 0 });
      }
    } finally {
      await hedged.close();
    }
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

  it("bill only the chunks the last signed head covers when a stream breaks between heads", async () => {
    const request = { ...story(), targetNode: gapCutter.address };
    const result = await streamed(net, request);
    if (Either.isLeft(result)) throw result.left;
    const data = result.right.flatMap((e) => (e.type === "data" ? [e] : []));
    // Two chunks reached the client; only the first (a signed head) is the node's word.
    expect(data.map((e) => e.seq)).toEqual([0, 1]);
    const last = final(result.right);
    expect(last).toMatchObject({ outcome: "error", error: { code: "STREAM_INTERRUPTED" }, verified: 1 });
    const covered = textPieces(data.slice(0, 1));
    expect(textPieces(data)).toBeGreaterThan(covered);
    expect(last.record!.usage.outputTokens).toBe(covered);
  });

  it("pass on a forged unsigned tail but never pay for it", async () => {
    const result = await streamed(net, { ...story(), targetNode: tailForger.address });
    if (Either.isLeft(result)) throw result.left;
    const data = result.right.flatMap((e) => (e.type === "data" ? [e] : []));
    const forged = data.filter((e) => JSON.stringify(e.data).includes(" forged"));
    expect(forged).toHaveLength(3);
    const last = final(result.right);
    expect(last).toMatchObject({ outcome: "error", error: { code: "STREAM_INTERRUPTED" }, verified: 1 });
    expect(last.record!.usage.outputTokens).toBe(textPieces(data.slice(0, 1)));
  });

  it("stop at a spliced chunk, sanction the node and never yield the bad chunk", async () => {
    const result = await streamed(net, { ...story(), targetNode: splicer.address });
    if (Either.isLeft(result)) throw result.left;
    const events = result.right;
    expect(events.filter((e) => e.type === "data")).toHaveLength(2);
    expect(final(events)).toMatchObject({ outcome: "error", error: { code: "STREAM_INTERRUPTED" } });
    expect(await sanctionOf(splicer)).toMatch(/^BAD_SIGNATURE: /);
  });
});

describe("a stream's client that leaves", () => {
  it("counts the node as failing when it had sent nothing for stallMs, and not before its first chunk", async ({
    onTestFailed,
  }) => {
    // The waits a run that fails (or runs past its limit) went through, for its report.
    const steps = ["starting the network"];
    const step = (what: string) => steps.push(what);
    onTestFailed(() => console.error(`the test failed; its steps: ${steps.join(" → ")}`));
    const stalling = await startTestNetwork({ hedge: { enabled: false }, stallMs: 100 });
    try {
      // The role chunk goes out at once; each token after it takes 1,000 s.
      const staller = await stalling.startNode({ backend: { tokensPerSecond: 0.001 } });
      const silent = await stalling.startNode({ backend: { firstTokenMs: 600_000 } });
      step("waiting for the nodes to register");
      await registered(stalling, 2);
      const viewOf = (address: string) =>
        stalling.managed.runPromise(Effect.map(Selector, (s) => s.stats.view(address, Date.now())));

      step("opening the stream on the stalling node");
      const events = await stalling.managed.runPromise(
        Effect.flatMap(Dispatcher, (d) => d.stream({ ...story(), targetNode: staller.address })),
      );
      const iterator = events[Symbol.asyncIterator]();
      // Read until a pull is still pending well past `stallMs` (a busy machine only makes it longer).
      step("reading the stalling node's stream");
      let pending: Promise<IteratorResult<DispatchStreamEvent>> | undefined;
      for (let read = 0; pending === undefined; read++) {
        if (read > 5) throw new Error("the node kept sending");
        const next = iterator.next();
        const arrived = await Promise.race([
          next,
          new Promise<undefined>((r) => setTimeout(() => r(undefined), 400)),
        ]);
        if (arrived === undefined) pending = next;
        else expect(arrived.value?.type).toBe("data");
      }
      step("reading the stalling node's stream to its end after the cut");
      events.close();
      // A chunk that came just as the wait ended is still handed on; the final event follows it.
      let last = await pending;
      while (last.done !== true && last.value.type !== "final") last = await iterator.next();
      expect(last.value).toMatchObject({ type: "final", outcome: "error" });
      expect((await viewOf(staller.address)).failures).toBe(1);
      expect(stalling.metrics.render()).toMatch(
        new RegExp(`pocket_gateway_node_relays_total\\{node="${staller.address}",outcome="TIMEOUT"\\} 1\\b`),
      );

      // Waiting for a first chunk is the node's time to first token: known to be at least the
      // wait, not a failure (a long prompt takes long). Its estimate so far: 0 ms.
      await stalling.managed.runPromise(
        Effect.map(Selector, (s) => s.stats.success(silent.address, "ttft", 0)),
      );
      step("waiting for the silent node to take its stream");
      const fiber = stalling.managed.runFork(
        Effect.flatMap(Dispatcher, (d) => d.stream({ ...story(), targetNode: silent.address })),
      );
      await vi.waitFor(() => expect(silent.node.relays.inFlight()).toBe(1), { timeout: 10_000 });
      step("interrupting the stream on the silent node");
      await stalling.managed.runPromise(Fiber.interrupt(fiber));
      const view = await viewOf(silent.address);
      expect(view.latencyMs.ttft).toBeGreaterThan(0);
      expect(view).toMatchObject({ relays: 1, failures: 0 });
      // And the node let go of it (its engine's wait for a first piece cut short).
      step("waiting for the silent node to let go of its stream");
      await vi.waitFor(() => expect(silent.node.relays.inFlight()).toBe(0), { timeout: 10_000 });
    } finally {
      step("closing the network");
      await stalling.close();
    }
    // Two nodes and a network of its own on a machine that may be busy: more than the default limit.
  }, 60_000);
});

describe("a stream whose client falls behind", () => {
  it("past the tier's time limit while the gateway waited on its client: ended for the client's sake, the node paid for what reached it and not counted as stalled", async () => {
    const limited = await startTestNetwork({ hedge: { enabled: false }, timeouts: { "*:standard": 500 } });
    try {
      // The role chunk goes out at once, then a token every 200 ms: still sending when the limit passes.
      const steady = await limited.startNode({ backend: { tokensPerSecond: 5 } });
      await registered(limited, 1);
      const events = await limited.managed.runPromise(
        Effect.flatMap(Dispatcher, (d) => d.stream({ ...story(), targetNode: steady.address })),
      );
      const iterator = events[Symbol.asyncIterator]();
      const read: DispatchStreamEvent[] = [];
      while (textPieces(read) === 0) {
        const next = await iterator.next();
        if (next.done === true || next.value.type !== "data") throw new Error("the stream ended early");
        read.push(next.value);
      }
      // The consumer takes nothing more (its client's socket is full) until the limit has passed:
      // the gateway ended the node's call, and the node let go of the relay.
      await vi.waitFor(() => expect(steady.node.relays.inFlight()).toBe(0), { timeout: 10_000 });
      let last: DispatchStreamEvent | undefined;
      for (let next = await iterator.next(); next.done !== true; next = await iterator.next())
        last = next.value;
      expect(last).toMatchObject({
        type: "final",
        outcome: "error",
        error: { code: "STREAM_INTERRUPTED", cause: "client" },
      });
      expect((last as { error: { message: string } }).error.message).not.toMatch(/node/);
      const view = await limited.managed.runPromise(
        Effect.map(Selector, (s) => s.stats.view(steady.address, Date.now())),
      );
      expect(view.failures).toBe(0);
      expect(limited.metrics.render()).not.toMatch(
        /pocket_gateway_node_relays_total\{[^}]*outcome="TIMEOUT"/,
      );
      // Paid for the part that reached the client, as for a client that left.
      const covered = read[read.length - 1] as Extract<DispatchStreamEvent, { type: "data" }>;
      const paid = events.cutSettlement?.({
        chain: covered.chain,
        usage: { inputTokens: 5, outputTokens: textPieces(read) },
        maxOutputTokens: 40,
        calls: 1,
        whole: false,
      });
      expect(paid?.record.computeUnits).toBeGreaterThan(0);
    } finally {
      await limited.close();
    }
  });
});

/** An evaluator's score of a node under one of its model services. */
const qualityScore = (address: string, qualifies: string[], serviceId = "llama-2-13b") => ({
  address,
  serviceId,
  categories: {},
  overall: { mean: 0.7, lower: 0.65, upper: 0.75, n: 200 },
  qualifies,
  speed: { ttftP10Ms: 100, tokensPerSecondP10: 30, samples: 20 },
  errorRate: 0,
  identity: {
    sharedBackendGroup: null,
    declaredModel: serviceId,
    modelTest: "consistent" as const,
    modelTestPValue: 0.5,
  },
  loglikelihood: "supported" as const,
  updatedAt: Date.now(),
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
      nodes: [score(good.address, ["quality-gpt-3.5"]), score(forger.address, [])],
    });
    // The gateway polls the board: wait until it holds the new one.
    await vi.waitFor(
      async () => {
        const book = await net.managed.runPromise(ScoresPoller);
        expect(book.qualifying("quality-gpt-3.5").map((n) => n.address)).toEqual([good.address]);
      },
      { timeout: 30_000, interval: 50 },
    );
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
  it("count an engine refusal under one model as disproved only by an answer under the same model and tier", async () => {
    // Qualified for the same quality service, under another model: its engine refuses everything.
    const {
      network: net3,
      honest,
      refuser,
      selector,
      sanctionHonest,
    } = await refuserFirst({
      textService: "mistral-7b",
      misbehave: "engine-rejected",
    });
    try {
      net3.setBoard({
        evaluator: "test-evaluator",
        generatedAt: Date.now(),
        nodes: [
          qualityScore(honest.address, ["quality-gpt-3.5"]),
          qualityScore(refuser.address, ["quality-gpt-3.5"], "mistral-7b"),
        ],
      });
      await vi.waitFor(
        async () => {
          const book = await net3.managed.runPromise(ScoresPoller);
          expect(book.qualifying("quality-gpt-3.5")).toHaveLength(2);
        },
        { timeout: 30_000, interval: 50 },
      );
      for (let round = 1; round <= 4; round++) {
        sanctionHonest();
        const result = await unary(net3, dispatchRequest("quality-gpt-3.5", { prompt: "Hi", max_tokens: 4 }));
        if (Either.isLeft(result)) throw result.left;
        // The refuser was asked first, the honest node answered under its own model.
        expect(result.right.record).toMatchObject({ nodeAddress: honest.address, attempts: 2 });
      }
      // Another model's answer says nothing about this engine: no count, no sanction (three would sanction).
      expect(selector.engineRefusals.disprovedCount("mistral-7b", refuser.address)).toBe(0);
      expect(selector.stats.view(refuser.address, Date.now()).sanctionReason).toBeUndefined();
    } finally {
      await net3.close();
    }
  });
});
