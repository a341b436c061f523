import {
  promptCharsOf,
  type TrafficMix,
  type TrafficShape,
  trafficShapeKey,
  trafficShapeOf,
} from "@pocket-ai/protocol";
import { Effect } from "effect";
import { beforeAll, describe, expect, it } from "vitest";
import type { EvaluatedNode, RunSettings } from "../src/config/evaluator-config.js";
import type { ProbeTransportShape, RequestBody } from "../src/probe/probe-transport.js";
import { baseLengths } from "../src/runs/base-lengths.js";
import { executeEntry } from "../src/runs/execute-entry.js";
import { planRun } from "../src/runs/plan.js";
import { probeGapMs, usableMix } from "../src/runs/probe-shape.js";
import { createRng, type Rng } from "../src/runs/rng.js";
import { loadSuite } from "../src/tasks/load-task.js";
import type { Task } from "../src/tasks/task-definition.js";
import { type CustomerApp, type CustomerRelay, customerApp } from "./customer-traffic.js";

/**
 * Can a node tell probes from customers? The node's whole view of each relay — its application
 * address (as behaviour: how often that application was seen, how long since its last relay), the
 * parameters, the prompt's shape (operation, messages, system message, length, lines) and the
 * timing — is turned into features, and two classifiers (logistic regression and the best single
 * feature threshold) are trained on half of a balanced stream and tested on the other half.
 */

const PROBES = 2_000; // per class; half trains, half tests
// 4.5 standard errors (0.011) of a chance classifier's accuracy on 2,000 test relays: a chance
// classifier passes except with probability below 1e-5, and a real leak of 5 points fails.
const MARGIN = 0.05;
const TIER_MAX_TOKENS = 1_000; // the gateway fills in and clamps max_tokens to the tier's limit
const NODE = "pokt1covertnode000000000000000000000000000";

interface Seen {
  readonly probe: boolean;
  readonly app: string;
  readonly at: number;
  readonly operation: "completions" | "chat.completions";
  readonly body: Record<string, unknown>;
}

/** The mix as the gateway counts it (`TrafficMixCounter`: shapes of customer relays, rare shapes left out). */
function gatewayMix(relays: readonly CustomerRelay[]): TrafficMix {
  const counts = new Map<string, { shape: TrafficShape; count: number }>();
  const lengths = new Map<string, NonNullable<TrafficMix["promptChars"]>[number]>();
  for (const r of relays) {
    const { upTo, linesUpTo, contextUpTo } = promptCharsOf(r.operation, r.body);
    const shape = trafficShapeOf(r.operation, gatewayBody(r.body));
    const at = `${shape.operation}/${shape.echo}/${upTo}/${linesUpTo}/${contextUpTo}`;
    const length = lengths.get(at) ?? {
      upTo,
      linesUpTo,
      contextUpTo,
      operation: shape.operation,
      echo: shape.echo,
      count: 0,
    };
    length.count += 1;
    lengths.set(at, length);
    const key = trafficShapeKey(shape);
    const entry = counts.get(key) ?? { shape, count: 0 };
    entry.count += 1;
    counts.set(key, entry);
  }
  return {
    total: relays.length,
    shapes: [...counts.values()].filter((e) => e.count >= 3),
    promptChars: [...lengths.values()].filter((l) => l.count >= 3),
  };
}

/** What the node receives: the gateway sets `max_tokens` (clamped to the tier) on every text relay. */
function gatewayBody(body: Record<string, unknown>): Record<string, unknown> {
  const asked = typeof body.max_tokens === "number" ? body.max_tokens : TIER_MAX_TOKENS;
  return { ...body, max_tokens: Math.min(asked, TIER_MAX_TOKENS) };
}

/** A transport that records what reaches the node and answers plausibly (echo with logprobs, a letter, a few words). */
function recordingTransport(
  sink: (operation: Seen["operation"], body: RequestBody, stream: boolean) => void,
) {
  const timing = { totalMs: 5, ttftMs: 1 };
  const transport: ProbeTransportShape = {
    completions: (body, target, options) =>
      Effect.sync(() => {
        if (target.node === NODE) sink("completions", body, options?.stream === true);
        const prompt = String(body.prompt);
        const echo = body.echo === true;
        const text = echo ? `${prompt} B` : " B because";
        const tokens = [...text.matchAll(/\s*\S+/g)];
        const logprobs = {
          tokens: tokens.map((t) => t[0]),
          tokenLogprobs: tokens.map((_, i) => -1 - ((i * 7919) % 13) / 7),
          textOffset: tokens.map((t) => t.index ?? 0),
        };
        return { text, logprobs: echo ? logprobs : null, completionTokens: 3, finishReason: "stop", timing };
      }),
    chat: (body, target, options) =>
      Effect.sync(() => {
        if (target.node === NODE) sink("chat.completions", body, options?.stream === true);
        return { content: "B", completionTokens: 1, timing };
      }),
    images: () => Effect.die(new Error("no images here")),
    imageEdits: () => Effect.die(new Error("no images here")),
  };
  return transport;
}

/**
 * Probe relays of whole evaluator runs over the starter suite, in shapes drawn from `mix`;
 * `rankLengths` false draws each prompt length at random instead of at the probe's own rank.
 */
async function probeRelays(
  tasks: readonly Task[],
  mix: TrafficMix | undefined,
  count: number,
  rankLengths = true,
) {
  const out: { operation: Seen["operation"]; body: Record<string, unknown> }[] = [];
  const transport = recordingTransport((operation, body, stream) =>
    out.push({ operation, body: { ...body, ...(stream ? { stream: true } : {}) } }),
  );
  const settings = { itemsPerTask: 0, identityPrompts: 24, speedProbes: 8 } as RunSettings;
  const node: EvaluatedNode = {
    address: NODE,
    serviceId: "dev-text",
    model: "dev-text",
    declaredModel: "m",
    kind: "text",
  };
  for (let run = 0; out.length < count; run++) {
    const seed = 1000 + run;
    const plan = planRun(tasks, settings, seed);
    const ctx = {
      runId: `run-${run}`,
      seed,
      node,
      transport,
      reference: { transport, model: "reference" },
      loglikelihoodUnsupported: () => false,
      now: () => Date.UTC(2026, 0, 1 + run),
      covert:
        mix === undefined
          ? undefined
          : { mix, echo: () => true, bases: rankLengths ? baseLengths(plan, seed) : undefined },
    };
    for (const entry of plan) await Effect.runPromise(executeEntry(ctx, entry));
  }
  return out.slice(0, count);
}

/** The node's view of one relay as numbers. */
function features(seen: readonly Seen[]): number[][] {
  const lastAt = new Map<string, number>();
  const counts = new Map<string, number>();
  let previous = 0;
  return seen.map((s) => {
    const b = gatewayBody(s.body);
    const messages = Array.isArray(b.messages) ? (b.messages as { role: string; content: string }[]) : [];
    const text = s.operation === "completions" ? String(b.prompt) : messages.map((m) => m.content).join("\n");
    const last = messages[messages.length - 1]?.content ?? text;
    const num = (v: unknown, absent: number) => (typeof v === "number" ? v : absent);
    const since = lastAt.has(s.app) ? (s.at - lastAt.get(s.app)!) / 1000 : 1e5;
    const row = [
      s.operation === "chat.completions" ? 1 : 0,
      b.stream === true ? 1 : 0,
      b.echo === true ? 1 : 0,
      b.logprobs === undefined ? 0 : 1,
      num(b.temperature, -1),
      num(b.top_p, -1),
      Math.log(num(b.max_tokens, TIER_MAX_TOKENS)),
      b.seed === undefined ? 0 : 1,
      b.stop === undefined ? 0 : 1,
      messages[0]?.role === "system" ? 1 : 0,
      messages.length,
      Math.log(1 + text.length),
      Math.log(1 + last.length),
      text.split("\n").length,
      Math.log(1 + (counts.get(s.app) ?? 0)),
      Math.log(1 + since),
      Math.log(1 + (s.at - previous) / 1000),
    ];
    lastAt.set(s.app, s.at);
    counts.set(s.app, (counts.get(s.app) ?? 0) + 1);
    previous = s.at;
    return row;
  });
}

function standardise(train: number[][], test: number[][]) {
  const d = train[0]!.length;
  const mean = Array.from({ length: d }, (_, j) => train.reduce((s, r) => s + r[j]!, 0) / train.length);
  const sd = Array.from({ length: d }, (_, j) =>
    Math.sqrt(train.reduce((s, r) => s + (r[j]! - mean[j]!) ** 2, 0) / train.length || 1),
  );
  const f = (rows: number[][]) => rows.map((r) => r.map((v, j) => (v - mean[j]!) / (sd[j]! || 1)));
  return { train: f(train), test: f(test) };
}

/** Logistic regression (full-batch gradient descent, light L2), accuracy on the held-out half. */
function logisticAccuracy(xTrain: number[][], yTrain: number[], xTest: number[][], yTest: number[]) {
  const { train, test } = standardise(xTrain, xTest);
  const d = train[0]!.length;
  const w = new Array<number>(d + 1).fill(0);
  const predict = (x: number[]) => 1 / (1 + Math.exp(-(w[d]! + x.reduce((s, v, j) => s + v * w[j]!, 0))));
  for (let epoch = 0; epoch < 400; epoch++) {
    const grad = new Array<number>(d + 1).fill(0);
    train.forEach((x, i) => {
      const e = predict(x) - yTrain[i]!;
      x.forEach((v, j) => {
        grad[j]! += e * v;
      });
      grad[d]! += e;
    });
    for (let j = 0; j <= d; j++) w[j]! -= 0.5 * (grad[j]! / train.length + (j < d ? 1e-3 * w[j]! : 0));
  }
  return test.filter((x, i) => (predict(x) >= 0.5 ? 1 : 0) === yTest[i]).length / test.length;
}

/** The best single-feature threshold on the training half, and its accuracy on the held-out half. */
function stumpAccuracy(xTrain: number[][], yTrain: number[], xTest: number[][], yTest: number[]) {
  let best = { acc: 0, j: 0, t: 0, sign: 1 };
  for (let j = 0; j < xTrain[0]!.length; j++) {
    const values = [...new Set(xTrain.map((r) => r[j]!))].sort((a, b) => a - b);
    const step = Math.max(1, Math.floor(values.length / 200));
    for (let k = 0; k < values.length; k += step) {
      const t = values[k]!;
      for (const sign of [1, -1]) {
        const acc =
          xTrain.filter((r, i) => ((sign * (r[j]! - t) > 0 ? 1 : 0) === yTrain[i] ? 1 : 0) === 1).length /
          xTrain.length;
        if (acc > best.acc) best = { acc, j, t, sign };
      }
    }
  }
  const { j, t, sign } = best;
  return {
    feature: j,
    accuracy: xTest.filter((r, i) => (sign * (r[j]! - t) > 0 ? 1 : 0) === yTest[i]).length / xTest.length,
  };
}

const address = (rng: Rng) =>
  `pokt1${Array.from({ length: 38 }, () => "qpzry9x8gf2tvdw0s3jn54khce6mua7l"[rng.int(32)]).join("")}`;

/** Customers' relays at the node over `seconds`, each application a Poisson stream at its own rate. */
function customerStream(rng: Rng, apps: readonly CustomerApp[], seconds: number): Seen[] {
  const out: Seen[] = [];
  for (const app of apps) {
    let at = probeGapMs(rng, app.rate);
    while (at < seconds * 1000) {
      const relay = app.next(rng);
      out.push({ probe: false, app: app.address, at, operation: relay.operation, body: relay.body });
      at += probeGapMs(rng, app.rate);
    }
  }
  return out;
}

/** A pool of probe applications as the gateway keeps it (`ProbeApplications`: Pareto activity 1.1). */
function probeApps(rng: Rng, size: number) {
  const apps = Array.from({ length: size }, () => ({
    address: address(rng),
    activity: Math.min(1e4, (1 - rng.next()) ** (-1 / 1.1)),
  }));
  const total = apps.reduce((s, a) => s + a.activity, 0);
  return () => {
    let at = rng.next() * total;
    for (const a of apps) {
      at -= a.activity;
      if (at < 0) return a.address;
    }
    return apps[apps.length - 1]!.address;
  };
}

/** Feature columns (see `features`): request shape 0–10, prompt text shape 11–13, application 14–15, timing 16. */
const WITHOUT_TEXT_SHAPE = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 14, 15, 16];
const WHOLE_VIEW = [...WITHOUT_TEXT_SHAPE, 11, 12, 13];

interface Separability {
  readonly testRelays: number;
  readonly logistic: number;
  readonly stump: { readonly feature: number; readonly accuracy: number };
}

/**
 * A node's view of probes and customers at this node: customers of a synthetic mix
 * (`customer-traffic.ts`: 400 applications, Zipf(1.1) activity, 3 relays/s), probes at 1 per
 * second (a quarter of the node's relays), Poisson-paced, from a pool of 64 probe applications;
 * classifiers trained on a random half of a balanced sample and tested on the other half.
 */
async function separability(
  covert: boolean,
  columns: readonly number[],
  rankLengths = true,
): Promise<Separability> {
  const rng = createRng(20261202);
  const zipf = Array.from({ length: 400 }, (_, i) => 1 / (i + 1) ** 1.1);
  const zipfTotal = zipf.reduce((a, b) => a + b, 0);
  const apps = zipf.map((w) => customerApp(rng, address(rng), (3 * w) / zipfTotal));
  // The gateway's mix, from its whole customer traffic (here: another stretch of the same apps).
  const mixSample = customerStream(rng, apps, 3_000).map((s) => ({
    app: s.app,
    operation: s.operation,
    body: s.body,
  }));
  const mix = usableMix(gatewayMix(mixSample));
  if (mix === undefined) throw new Error("the synthetic customers gave no usable mix");
  const probes = await probeRelays(tasks, covert ? mix : undefined, PROBES, rankLengths);
  const pickApp = probeApps(rng, 64);
  let at = 0;
  const probeSeen: Seen[] = probes.map((p) => {
    at += covert ? probeGapMs(rng, 1) : 1000;
    return { probe: true, app: covert ? pickApp() : EVALUATOR_APP, at, ...p };
  });
  const customers = customerStream(rng, apps, at / 1000);
  const stream = [...probeSeen, ...customers].sort((a, b) => a.at - b.at);
  const x = features(stream).map((row) => columns.map((j) => row[j]!));
  // A balanced sample: every probe and as many customer relays drawn at random.
  const probeRows = stream.flatMap((s, i) => (s.probe ? [i] : []));
  const customerRows = rng.sample(
    stream.flatMap((s, i) => (s.probe ? [] : [i])),
    probeRows.length,
  );
  const rows = rng.sample([...probeRows, ...customerRows], probeRows.length * 2);
  const half = rows.length / 2;
  const pick = (idx: number[]) => ({
    x: idx.map((i) => x[i]!),
    y: idx.map((i) => (stream[i]!.probe ? 1 : 0)),
  });
  const train = pick(rows.slice(0, half));
  const test = pick(rows.slice(half));
  const stump = stumpAccuracy(train.x, train.y, test.x, test.y);
  return {
    testRelays: test.y.length,
    logistic: logisticAccuracy(train.x, train.y, test.x, test.y),
    stump: { feature: columns[stump.feature]!, accuracy: stump.accuracy },
  };
}

const EVALUATOR_APP = "pokt1evaluatorapp0000000000000000000000000";
const report = (name: string, r: Separability) =>
  console.info(
    `${name}: ${r.testRelays} test relays (half probes); logistic regression ${r.logistic.toFixed(3)}, best single feature (#${r.stump.feature}) ${r.stump.accuracy.toFixed(3)}`,
  );

let tasks: Task[];
beforeAll(async () => {
  tasks = await Effect.runPromise(loadSuite([]));
});

describe("covert probes", () => {
  it("cannot be told from customers by application, parameters, request structure and timing better than chance plus the margin", async () => {
    const r = await separability(true, WITHOUT_TEXT_SHAPE);
    report("covert, without prompt text shape", r);
    expect(r.testRelays).toBe(PROBES);
    expect(r.logistic).toBeLessThanOrEqual(0.5 + MARGIN);
    expect(r.stump.accuracy).toBeLessThanOrEqual(0.5 + MARGIN);
  }, 300_000);

  it("were told apart every time in their measuring shapes under the evaluator's own application (the test can fail)", async () => {
    const r = await separability(false, WITHOUT_TEXT_SHAPE);
    report("measuring shapes", r);
    expect(r.logistic).toBeGreaterThan(0.95);
  }, 300_000);

  it("cannot be told from customers by the node's whole view, prompt lengths and lines included, better than chance plus the margin", async () => {
    const covert = await separability(true, WHOLE_VIEW);
    report("covert, whole view", covert);
    expect(covert.testRelays).toBe(PROBES);
    expect(covert.logistic).toBeLessThanOrEqual(0.5 + MARGIN);
    expect(covert.stump.accuracy).toBeLessThanOrEqual(0.5 + MARGIN);
  }, 300_000);

  it("are told apart by their prompt lengths when each length is drawn without regard to the probe's own (the whole-view test can fail)", async () => {
    const unranked = await separability(true, WHOLE_VIEW, false);
    const before = await separability(false, WHOLE_VIEW);
    report("covert, lengths drawn at random, whole view", unranked);
    report("measuring shapes, whole view", before);
    // Padding only lengthens: a length drawn at random leaves every probe at least as long as its
    // item, and the probes as a whole longer than customers' prompts.
    expect(Math.max(unranked.logistic, unranked.stump.accuracy)).toBeGreaterThan(0.5 + MARGIN);
    expect(before.logistic).toBeGreaterThan(0.95);
  }, 300_000);
});
