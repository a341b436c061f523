import type { AddressInfo } from "node:net";
import { generateKeyPair, type NodeScore } from "@pocket-ai/protocol";
import { MetricsRegistry } from "@pocket-ai/runtime";
import { initTRPC } from "@trpc/server";
import { createHTTPServer } from "@trpc/server/adapters/standalone";
import { Effect, Layer, Logger, ManagedRuntime } from "effect";
import { afterAll, describe, expect, it } from "vitest";
import { settableClock } from "../../test/support/settable-clock.js";
import { until } from "../../test/support/until.js";
import { RoutingSettings } from "../routing/routing-config.js";
import { scoreboardAgeGauge } from "./scoreboard-age.js";
import { PENALTY_WEIGHT, ScoreBook, ScoresPoller } from "./scores-poller.js";

const node = generateKeyPair().address;
const entry = (serviceId: string, qualifies: string[], updatedAt = 1): NodeScore => ({
  address: node,
  serviceId,
  categories: {},
  overall: { mean: 0.7, lower: 0.6, upper: 0.8, n: 100 },
  qualifies,
  speed: { ttftP10Ms: null, tokensPerSecondP10: null, samples: 0 },
  errorRate: 0,
  identity: { sharedBackendGroup: null, declaredModel: null, modelTest: "untested", modelTestPValue: null },
  loglikelihood: "unknown",
  updatedAt,
});

describe("ScoreBook", () => {
  it("keeps scores per node and service and finds qualifying pairs", () => {
    const book = new ScoreBook();
    book.accept(
      {
        evaluator: "e",
        generatedAt: 5,
        nodes: [entry("llama-2-13b", ["quality-gpt-3.5"], 1), entry("mistral-7b", [], 2)],
      },
      10,
    );
    expect(book.score(node, "llama-2-13b")?.qualifies).toEqual(["quality-gpt-3.5"]);
    expect(book.score(node)?.serviceId).toBe("mistral-7b");
    expect(book.qualifying("quality-gpt-3.5").map((s) => s.serviceId)).toEqual(["llama-2-13b"]);
    expect(book.fail("down")).toBe(true);
    expect(book.fail("still down")).toBe(false);
    expect(book.status()).toMatchObject({ evaluator: "e", fetchedAt: 10, lastError: "still down" });
    expect(book.score(node, "llama-2-13b")).toBeDefined();
  });
});

describe("ScoreBook penalties", () => {
  it("down-weights and never qualifies an entry with a cheating finding; older boards still parse", () => {
    const book = new ScoreBook();
    const penalised = { ...entry("llama-2-13b", ["quality-gpt-3.5"]), penalties: ["model-mismatch"] };
    book.accept({ evaluator: "e", generatedAt: 5, nodes: [penalised] }, 10);
    expect(book.qualifying("quality-gpt-3.5")).toEqual([]);
    expect(book.routingScore(node, "llama-2-13b")).toBeCloseTo(0.7 * PENALTY_WEIGHT, 9);
    book.accept({ evaluator: "e", generatedAt: 6, nodes: [entry("llama-2-13b", ["quality-gpt-3.5"])] }, 11);
    expect(book.routingScore(node, "llama-2-13b")).toBeCloseTo(0.7, 9);
    expect(book.qualifying("quality-gpt-3.5")).toHaveLength(1);
  });
});

describe("ScoresPoller", () => {
  const t = initTRPC.create();
  let answer: unknown = { evaluator: "e", generatedAt: 1, nodes: [entry("llama-2-13b", ["skill-coding"])] };
  const server = createHTTPServer({
    router: t.router({ scores: t.router({ board: t.procedure.query(() => answer) }) }),
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it("polls the evaluator, validates the board and keeps the last good one when it goes wrong", async () => {
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const runtime = ManagedRuntime.make(
      ScoresPoller.layer.pipe(Layer.provide(RoutingSettings.layer({ evaluator: { url, pollMs: 100 } }))),
    );
    const book = await runtime.runPromise(ScoresPoller);
    // Waits on what the poller has seen, never on how long a poll takes (the bound ends a broken run).
    await until(() => book.qualifying("skill-coding").length > 0, "the first board");
    expect(book.qualifying("skill-coding")).toHaveLength(1);
    answer = { evaluator: "e", generatedAt: 2, nodes: [{ address: node }] };
    await until(() => book.status().lastError !== undefined, "a poll of the off-schema board");
    expect(book.status().lastError).toMatch(/off-schema/);
    expect(book.qualifying("skill-coding")).toHaveLength(1);
    await runtime.dispose();
  });

  it("stays empty without an evaluator", async () => {
    const book = await Effect.runPromise(
      Effect.scoped(
        Effect.provide(ScoresPoller, ScoresPoller.layer.pipe(Layer.provide(RoutingSettings.layer()))),
      ),
    );
    expect(book.status().evaluator).toBeUndefined();
  });
});

describe("ScoresPoller and a board from a newer evaluator", () => {
  const t = initTRPC.create();
  const good = entry("llama-2-13b", ["skill-coding"]);
  // Fields this gateway's protocol package does not define, at the top, in an entry and in `identity`.
  const newer = (generatedAt: number) => ({
    evaluator: "e",
    generatedAt,
    signature: "added-later",
    nodes: [
      {
        ...good,
        region: "eu-west",
        identity: { ...good.identity, organicCheck: "reference", watermark: { found: false } },
      },
    ],
  });
  let answer: unknown = newer(1);
  const server = createHTTPServer({
    router: t.router({ scores: t.router({ board: t.procedure.query(() => answer) }) }),
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it("accepts fields it does not know, and still refuses a missing field or a wrong type", async () => {
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const runtime = ManagedRuntime.make(
      ScoresPoller.layer.pipe(Layer.provide(RoutingSettings.layer({ evaluator: { url, pollMs: 100 } }))),
    );
    const book = await runtime.runPromise(ScoresPoller);
    const accepted = (generatedAt: number) => () => book.status().generatedAt === generatedAt;
    await until(accepted(1), "the first poll");
    expect(book.status()).toMatchObject({ generatedAt: 1, lastError: undefined });
    expect(book.qualifying("skill-coding").map((e) => e.address)).toEqual([node]);
    expect(book.score(node, "llama-2-13b")?.identity).toEqual({
      ...good.identity,
      organicCheck: "reference",
    });

    const { errorRate: _dropped, ...missing } = good;
    answer = { ...newer(2), nodes: [missing] };
    await until(() => book.status().lastError !== undefined, "a poll of a board missing a field");
    expect(book.status()).toMatchObject({
      generatedAt: 1,
      lastError: expect.stringMatching(/off-schema: nodes\.0\.errorRate/),
    });

    answer = newer(3);
    await until(accepted(3), "a poll of the next good board");
    expect(book.status()).toMatchObject({ generatedAt: 3, lastError: undefined });

    answer = { ...newer(4), nodes: [{ ...good, identity: { ...good.identity, modelTestPValue: "high" } }] };
    await until(() => book.status().lastError !== undefined, "a poll of a board with a wrong type");
    expect(book.status()).toMatchObject({
      generatedAt: 3,
      lastError: expect.stringMatching(/off-schema: nodes\.0\.identity\.modelTestPValue/),
    });
    expect(book.qualifying("skill-coding")).toHaveLength(1);
    await runtime.dispose();
  });
});

describe("ScoresPoller and a board that stops changing", () => {
  const t = initTRPC.create();
  const HOUR = 3_600_000;
  const updatedAt = Date.UTC(2030, 0, 1);
  // An evaluator whose rounds keep failing: it serves its last entries under a fresh generatedAt.
  let answer: unknown = {
    evaluator: "e",
    generatedAt: updatedAt,
    nodes: [entry("llama-2-13b", [], updatedAt)],
  };
  const server = createHTTPServer({
    router: t.router({ scores: t.router({ board: t.procedure.query(() => answer) }) }),
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it("shows the age of its newest entry on /metrics and warns once it passes staleAfterMs, keeping its tiers", async () => {
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const { clock, time } = settableClock(updatedAt + HOUR);
    const metrics = new MetricsRegistry();
    const warnings: string[] = [];
    const logger = Logger.make(({ logLevel, message }) => {
      if (logLevel._tag === "Warning") warnings.push(JSON.stringify(message));
    });
    const runtime = ManagedRuntime.make(
      Layer.provideMerge(scoreboardAgeGauge(metrics), ScoresPoller.layer).pipe(
        Layer.provide(RoutingSettings.layer({ evaluator: { url, pollMs: 100, staleAfterMs: 24 * HOUR } })),
        Layer.provide(Layer.merge(Layer.setClock(clock), Logger.replace(Logger.defaultLogger, logger))),
      ),
    );
    const book = await runtime.runPromise(ScoresPoller);
    const age = () => metrics.render().match(/^pocket_gateway_scoreboard_age_seconds (\d+)$/m)?.[1];
    expect(age()).toBeUndefined();
    await until(() => book.status().fetchedAt !== undefined, "the first board");
    expect(age()).toBe("3600");

    answer = {
      evaluator: "e",
      generatedAt: updatedAt + 25 * HOUR,
      nodes: [entry("llama-2-13b", [], updatedAt)],
    };
    time.at = updatedAt + 25 * HOUR;
    expect(age()).toBe(String(25 * 3600));
    await until(() => warnings.some((w) => w.includes("stale")), "the stale board's warning");
    answer = {
      evaluator: "e",
      generatedAt: updatedAt + 26 * HOUR,
      nodes: [entry("llama-2-13b", [], updatedAt)],
    };
    await until(() => book.status().generatedAt === updatedAt + 26 * HOUR, "a later poll of the stale board");
    expect(warnings.filter((w) => w.includes("stale"))).toHaveLength(1);
    // Not dropped: routing still reads the board's entries.
    expect(book.score(node, "llama-2-13b")).toBeDefined();

    answer = { evaluator: "e", generatedAt: time.at, nodes: [entry("llama-2-13b", [], time.at - 60_000)] };
    await until(() => book.status().newestEntryAt === time.at - 60_000, "a fresh board");
    expect(age()).toBe("60");
    await runtime.dispose();
  });
});
