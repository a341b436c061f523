import { createHash } from "node:crypto";
import { createServer, request, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { createDevTextEngine } from "@pocket-ai/node/fakes";
import { keyPairFromPrivateKey } from "@pocket-ai/protocol";
import { Effect, Either, Layer } from "effect";
import { describe, expect, it } from "vitest";
import type { EvaluatedNode } from "../src/config/evaluator-config.js";
import { EvaluatorStore } from "../src/db/evaluator-store.js";
import { itemResults } from "../src/db/schema.js";
import { makeOpenAiTransport } from "../src/probe/openai-transport.js";
import { ProbeTransport } from "../src/probe/probe-transport.js";
import { watchGateway } from "../src/runs/gateway-watch.js";
import { runNode } from "../src/runs/run-node.js";
import { loadSuite } from "../src/tasks/load-task.js";
import { startDevGateway } from "./dev-gateway.js";
import { tempDir } from "./evaluator-process.js";
import { SMALL_TEXT_RUN } from "./run-settings.js";

const settings = SMALL_TEXT_RUN;
const address = keyPairFromPrivateKey(createHash("sha256").update("outage-node").digest()).address;
const node: EvaluatedNode = {
  address,
  serviceId: "dev-text",
  model: "dev-text",
  declaredModel: null,
  kind: "text",
};
const engine = createDevTextEngine({ quality: 1 });
const transportTo = (baseUrl: string) =>
  Layer.succeed(
    ProbeTransport,
    makeOpenAiTransport({ baseUrl, apiKey: "k", timeoutMs: 10_000, headers: {} }),
  );

describe("the gateway going away in the middle of a run", () => {
  it("stops the run without scoring the node for it, and the next round resumes it", async () => {
    const store = EvaluatorStore.layer(join(tempDir(), "evaluator.sqlite"));
    const tasks = await Effect.runPromise(loadSuite([]));
    const first = await startDevGateway({ nodes: [{ address, text: engine }], evaluatorKey: "k" });
    const stopped = await Effect.runPromise(
      Effect.gen(function* () {
        const outcome = yield* Effect.either(
          runNode({
            node,
            tasks,
            settings,
            // The gateway stops once 10 steps are done: every later probe finds no one listening.
            onProgress: (done) => {
              if (done === 10) void first.close();
            },
          }),
        );
        const s = yield* EvaluatorStore;
        return { outcome, board: s.board(), rows: s.db.select().from(itemResults).all() };
      }).pipe(Effect.provide(Layer.merge(store, transportTo(first.baseUrl)))),
    );
    expect(stopped.outcome._tag).toBe("Left");
    if (stopped.outcome._tag === "Left") {
      expect(stopped.outcome.left._tag).toBe("GatewayUnavailable");
      expect(stopped.outcome.left.message).toContain("check gateway.baseUrl");
    }
    // What was answered is kept; the probe that met no gateway is not recorded, nothing is published.
    expect(stopped.rows).toHaveLength(10);
    expect(stopped.rows.every((r) => r.status === "scored")).toBe(true);
    expect(stopped.board).toEqual([]);

    const second = await startDevGateway({ nodes: [{ address, text: engine }], evaluatorKey: "k" });
    try {
      const resumed = await Effect.runPromise(
        Effect.gen(function* () {
          let from = -1;
          const entry = yield* runNode({
            node,
            tasks,
            settings,
            onProgress: (done) => {
              if (from < 0) from = done;
            },
          });
          const s = yield* EvaluatorStore;
          return { entry, from, rows: s.db.select().from(itemResults).all() };
        }).pipe(Effect.provide(Layer.merge(store, transportTo(second.baseUrl)))),
      );
      expect(resumed.from).toBe(10);
      expect(resumed.entry.errorRate).toBe(0);
      expect(resumed.rows.filter((r) => r.status === "error")).toEqual([]);
      expect(resumed.entry.overall?.n).toBe(13 * 4);
    } finally {
      await second.close();
    }
  }, 60_000);

  it("stops the run when the evaluator's key runs out of budget, so no entry is published from probes the gateway refused", async () => {
    const store = EvaluatorStore.layer(join(tempDir(), "evaluator.sqlite"));
    const tasks = await Effect.runPromise(loadSuite([]));
    const gateway = await startDevGateway({ nodes: [{ address, text: engine }], evaluatorKey: "k" });
    // In front of the gateway: after 10 probes the evaluator's application is out of budget, and
    // every later relay gets the gateway's 402, as a real gateway answers a spent key.
    let probes = 0;
    const proxy = createServer((req, res) => {
      const probe = req.url?.includes("/completions") === true;
      if (probe && ++probes > 10) {
        req.resume();
        res.writeHead(402, { "content-type": "application/json" });
        res.end(
          JSON.stringify({
            error: { code: "BUDGET_EXHAUSTED", message: "spent", type: "insufficient_quota" },
          }),
        );
        return;
      }
      const upstream = request(
        new URL(req.url ?? "/", gateway.baseUrl),
        { method: req.method, headers: req.headers },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      req.pipe(upstream);
    });
    await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", resolve));
    const proxied = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}/v1`;
    try {
      const stopped = await Effect.runPromise(
        Effect.gen(function* () {
          const outcome = yield* Effect.either(runNode({ node, tasks, settings }));
          const s = yield* EvaluatorStore;
          return { outcome, board: s.board(), rows: s.db.select().from(itemResults).all() };
        }).pipe(Effect.provide(Layer.merge(store, transportTo(proxied)))),
      );
      expect(Either.isLeft(stopped.outcome) && stopped.outcome.left).toMatchObject({
        _tag: "GatewayUnavailable",
        code: "BUDGET_EXHAUSTED",
      });
      // The probes the gateway refused say nothing about the node: none is recorded, nothing is
      // published (an entry from them would clear the node's findings), and the run resumes later.
      expect(stopped.rows.filter((r) => r.errorCode === "BUDGET_EXHAUSTED")).toEqual([]);
      expect(stopped.board).toEqual([]);
    } finally {
      proxy.closeAllConnections();
      await new Promise<void>((resolve) => proxy.close(() => resolve()));
      await gateway.close();
    }
  }, 60_000);

  it("sends a probe again after one dropped connection, and the run goes on as if nothing happened", async () => {
    const store = EvaluatorStore.layer(join(tempDir(), "evaluator.sqlite"));
    const tasks = await Effect.runPromise(loadSuite([]));
    const gateway = await startDevGateway({ nodes: [{ address, text: engine }], evaluatorKey: "k" });
    // A proxy in front of the gateway that hangs up on the fifth request without an answer.
    let requests = 0;
    const proxy = createServer((req, res) => {
      requests += 1;
      if (requests === 5) {
        req.socket.destroy();
        return;
      }
      const upstream = request(
        new URL(req.url ?? "/", gateway.baseUrl),
        { method: req.method, headers: req.headers },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      req.pipe(upstream);
    });
    await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", resolve));
    const proxied = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}/v1`;
    try {
      const done = await Effect.runPromise(
        Effect.gen(function* () {
          const entry = yield* runNode({ node, tasks, settings });
          const s = yield* EvaluatorStore;
          return { entry, rows: s.db.select().from(itemResults).all() };
        }).pipe(Effect.provide(Layer.merge(store, transportTo(proxied)))),
      );
      expect(requests).toBeGreaterThan(5);
      expect(done.entry.errorRate).toBe(0);
      expect(done.rows.filter((r) => r.status !== "scored")).toEqual([]);
      expect(done.entry.overall?.n).toBe(13 * 4);
    } finally {
      proxy.closeAllConnections();
      await new Promise<void>((resolve) => proxy.close(() => resolve()));
      await gateway.close();
    }
  }, 60_000);
});

describe("what a probe records when the link to the gateway fails, not the node", () => {
  type Site = {
    readonly watched: ReturnType<typeof watchGateway>;
    readonly requests: () => number;
  };
  /**
   * Runs `check` against a stand-in for the gateway's address: `answer` is called for each request
   * with its count; the stand-in is closed whatever happens.
   */
  const withSite = async (
    answer: (n: number, res: ServerResponse) => void,
    check: (site: Site) => Promise<void>,
  ) => {
    let requests = 0;
    const server = createServer((req, res) => {
      requests += 1;
      req.resume();
      answer(requests, res);
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
    const watched = watchGateway(
      makeOpenAiTransport({ baseUrl: url, apiKey: "k", timeoutMs: 10_000, headers: {} }),
    );
    try {
      await check({ watched, requests: () => requests });
    } finally {
      server.closeAllConnections();
      server.close();
    }
  };
  const chunk = (text: string) =>
    `data: ${JSON.stringify({ id: "c", object: "chat.completion.chunk", created: 1, model: "m", choices: [{ index: 0, delta: { content: text }, finish_reason: null }] })}\n\n`;
  /** A stream that starts, then loses its connection without an error event. */
  const cutStream = (res: ServerResponse) => {
    res.writeHead(200, { "content-type": "text/event-stream" });
    res.write(chunk("Hel"));
    setTimeout(() => res.socket?.destroy(), 10);
  };
  const wholeStream = (res: ServerResponse) => {
    res.writeHead(200, { "content-type": "text/event-stream" });
    res.end(`${chunk("Hello")}data: [DONE]\n\n`);
  };
  /** The gateway's own error answer, with a Pocket code. */
  const coded = (res: ServerResponse, status: number, code: string) => {
    res.writeHead(status, { "content-type": "application/json" });
    res.end(JSON.stringify({ error: { code, message: code, type: "server_error" } }));
  };
  const isTrafficMix = (res: ServerResponse) => res.req.url?.includes("traffic-mix") === true;
  const chat = (watched: ReturnType<typeof watchGateway>) =>
    Effect.runPromise(
      Effect.either(
        watched.transport.chat(
          { model: "m", messages: [{ role: "user", content: "hi" }] },
          { node: "pokt1node" },
          { stream: true },
        ),
      ),
    );
  /** The probe was answered on its second request, and the run goes on. */
  const answeredOnSecondTry = async ({ watched, requests }: Site) => {
    const result = await chat(watched);
    if (Either.isLeft(result)) throw new Error(`failed: ${JSON.stringify(result.left)}`);
    expect(result.right.content).toBe("Hello");
    expect(requests()).toBe(2);
    expect(watched.take()).toBeUndefined();
  };

  it("sends a stream cut mid-answer again, and goes on with the answer that comes whole", () =>
    withSite((n, res) => (n === 1 ? cutStream(res) : wholeStream(res)), answeredOnSecondTry));

  it("stops the run, scoring nothing, when the gateway stays away: every stream cut, or a proxy's 502 without a Pocket code", async () => {
    const staysAway = async ({ watched, requests }: Site) => {
      const result = await chat(watched);
      expect(Either.isLeft(result)).toBe(true);
      // Three tries of the probe, then one question to the gateway that no node is in.
      expect(requests()).toBe(4);
      expect(watched.take()?._tag).toBe("GatewayUnavailable");
    };
    // Every connection breaks: the streams mid-answer, and the question no node is in at once.
    await withSite((_n, res) => (isTrafficMix(res) ? res.socket?.destroy() : cutStream(res)), staysAway);
    await withSite((_n, res) => {
      res.writeHead(502, { "content-type": "text/html" });
      res.end("<html><body>Bad Gateway</body></html>");
    }, staysAway);
  });

  it("records against the node a relay cut every time while the gateway answers other requests", () =>
    // A node that stalls until a proxy's idle timeout cuts the stream, behind a gateway that is up.
    withSite(
      (_n, res) => {
        if (!isTrafficMix(res)) return cutStream(res);
        res.writeHead(200, { "content-type": "application/json" });
        res.end("{}");
      },
      async ({ watched, requests }) => {
        const result = await chat(watched);
        expect(Either.isLeft(result) && result.left).toMatchObject({
          _tag: "ProbeFailed",
          code: "BACKEND_UNAVAILABLE",
        });
        expect(Either.isLeft(result) && (result.left as { unreachable?: true }).unreachable).toBeUndefined();
        expect(requests()).toBe(4);
        // The run goes on: the other nodes, and this node's later items, are still measured.
        expect(watched.take()).toBeUndefined();
      },
    ));

  it("sends a probe again when the gateway's database is away for a moment, and goes on with the answer", () =>
    withSite(
      (n, res) => (n === 1 ? coded(res, 503, "DATABASE_UNAVAILABLE") : wholeStream(res)),
      answeredOnSecondTry,
    ));

  it("records the gateway's coded answer about the node as it is: not sent again, the run goes on", () =>
    withSite(
      (_n, res) => coded(res, 502, "NODE_FAILED"),
      async ({ watched, requests }) => {
        const result = await chat(watched);
        expect(Either.isLeft(result) && result.left).toMatchObject({
          _tag: "ProbeFailed",
          code: "NODE_FAILED",
        });
        expect(requests()).toBe(1);
        expect(watched.take()).toBeUndefined();
      },
    ));

  it("stops the run when the gateway refuses the evaluator's own key: out of budget, revoked, or without role evaluator", async () => {
    for (const [status, code] of [
      [402, "BUDGET_EXHAUSTED"],
      [401, "INVALID_API_KEY"],
      [403, "PERMISSION_DENIED"],
    ] as const)
      await withSite(
        (_n, res) => coded(res, status, code),
        async ({ watched, requests }) => {
          const result = await chat(watched);
          expect(Either.isLeft(result) && result.left).toMatchObject({ _tag: "ProbeFailed", code });
          // Not sent again: the key's standing does not change in a second.
          expect(requests()).toBe(1);
          const met = watched.take();
          expect(met?._tag).toBe("GatewayUnavailable");
          expect(met?.code).toBe(code);
          expect(met?.message).toContain("Nothing was scored");
        },
      );
  });
});
