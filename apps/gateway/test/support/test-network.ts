import { mkdtempSync, rmSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  contextFromRequest as linkContextFromRequest,
  makeNodeClient,
  makeScoreboardRouter,
} from "@pocket-ai/link";
import { NodeConfig, type RunningNode, startNode } from "@pocket-ai/node";
import { encodePng } from "@pocket-ai/png";
import {
  createRelayResponse,
  DEFAULT_CATALOG,
  type ErrorCode,
  generateKeyPair,
  relayStreamChain,
  type Scoreboard,
} from "@pocket-ai/protocol";
import { createLogger, MetricsRegistry } from "@pocket-ai/runtime";
import { createHTTPServer } from "@trpc/server/adapters/standalone";
import { type Clock, Effect, Exit, Layer, ManagedRuntime, Random, Redacted, Runtime, Scope } from "effect";
import { z } from "zod";
import { AdminAuth } from "../../src/admin/admin-auth.js";
import { gatewayNodeRouter } from "../../src/app/routers.js";
import { nodesAdminRouter } from "../../src/registry/nodes-router.js";
import { HedgeTimer, type StartTimer } from "../../src/relay/hedge-timer.js";
import { RoutingConfig } from "../../src/routing/routing-config.js";
import { routingLayer } from "../../src/routing/routing-live.js";
import {
  contextFromRequest,
  type GatewayServices,
  mergeRouters,
  publicProcedure,
  router,
} from "../../src/trpc.js";
import { TempDatabase } from "./temp-database.js";

export const ADMIN_TOKEN = "routing-test-admin-token";

type Server = ReturnType<typeof createHTTPServer>;
const listen = async (server: Server) => {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
};
const close = (server: Server) =>
  new Promise<void>((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });

/** How a wrapped node misbehaves (see {@link TestNetwork.startNode}). */
export type Misbehaviour =
  | "bad-signature"
  | "cut-stream"
  | "bad-chunk"
  | "forged-tail"
  /** Unary: the node's answer turned into a signed `ENGINE_REJECTED` refusal. */
  | "engine-rejected"
  /** Unary: the node's answer turned into a signed `INPUT_TOO_LONG` refusal, whatever the prompt. */
  | "input-too-long"
  /** Unary: the node's answer turned into a signed refusal with a code only a gateway gives. */
  | "rate-limited"
  | "unknown-service"
  /** Unary: the node reads the request, then fails the call with no code at all. */
  | "uncoded-error"
  /** Unary: a signed UNSUPPORTED_PARAMETER, whatever the node announced it can do. */
  | "unsupported-parameter"
  /** Unary: the node's answer with every choice's logprobs taken out, under its valid signature. */
  | "no-logprobs"
  /** Unary: the node's answer with every token logprob nulled, under its valid signature. */
  | "null-logprobs"
  /** Images: each of the node's pictures swapped for a 1×1 PNG, under the node's valid signature. */
  | "small-image"
  /** Unary: the node's answer as it is (with `hold`, a node that answers when the test says). */
  | "honest";

/**
 * For tests: the routing side over a temp database, its tRPC API on 127.0.0.1, a fake evaluator,
 * and real nodes (dev backend) that register with it. Nodes may sit behind a proxy router that
 * misbehaves, announcing the proxy's URL as their endpoint.
 */
export async function startTestNetwork(
  routing: z.input<typeof RoutingConfig> = {},
  options: {
    readonly clock?: Clock.Clock;
    /** The timer that starts a slow unary relay's hedge (`setTimeout` when absent). */
    readonly hedgeTimer?: StartTimer;
  } = {},
) {
  const key = generateKeyPair();
  const metrics = new MetricsRegistry();
  let board: Scoreboard = { evaluator: "test-evaluator", generatedAt: 0, nodes: [] };
  const evaluator = createHTTPServer({
    router: makeScoreboardRouter({ board: () => board, node: () => null }),
    createContext: linkContextFromRequest(Runtime.defaultRuntime),
  });
  const evaluatorUrl = await listen(evaluator);
  const config = RoutingConfig.parse({
    healthCheckMs: 60_000,
    // The test nodes listen on loopback.
    allowPrivateEndpoints: true,
    evaluator: { url: evaluatorUrl, pollMs: 100 },
    ...routing,
  });
  const layer = Layer.mergeAll(
    routingLayer({ config, key, catalog: DEFAULT_CATALOG, metrics }),
    AdminAuth.layer(Redacted.make(ADMIN_TOKEN)),
  ).pipe(
    Layer.provideMerge(TempDatabase),
    Layer.provide(options.clock === undefined ? Layer.empty : Layer.setClock(options.clock)),
    Layer.provide(
      options.hedgeTimer === undefined ? Layer.empty : Layer.succeed(HedgeTimer, options.hedgeTimer),
    ),
    // One fixed seed for the selector's draws (node picks, probe applications): the same draws
    // every run, so no test's outcome rests on a lucky one.
    Layer.provide(Layer.setRandom(Random.make("test-network"))),
  );
  const managed = ManagedRuntime.make(layer);
  const runtime = await managed.runtime();
  // Settlement is not provided here (its procedures would answer INTERNAL): nodes run no claim loop.
  const appRouter = mergeRouters(gatewayNodeRouter, router({ admin: router({ nodes: nodesAdminRouter }) }));
  // At `/trpc`, where the gateway app serves it.
  const gateway = createHTTPServer({
    router: appRouter,
    createContext: contextFromRequest(runtime as unknown as Runtime.Runtime<GatewayServices>),
    basePath: "/trpc/",
  });
  const gatewayUrl = `${await listen(gateway)}/trpc`;
  const cleanups: (() => Promise<void>)[] = [];

  const startTestNode = async (
    options: {
      backend?: Record<string, unknown>;
      misbehave?: Misbehaviour;
      /** Unary answers of a misbehaving node wait for this before they leave the proxy. */
      hold?: Promise<void>;
      now?: () => number;
      /** How often the node signs a stream's chain head (the node's default when absent). */
      streamHeads?: { everyChunks?: number; everyMs?: number };
      /** The node's port (any free one when absent). */
      listenPort?: number;
      /** The text service the node serves instead of `llama-2-13b` (on both tiers, dev backend). */
      textService?: string;
    } = {},
  ) => {
    const dataDir = mkdtempSync(join(tmpdir(), "pocket-routing-node-"));
    let proxy: Server | undefined;
    let proxyUrl: string | undefined;
    let target: RunningNode | undefined;
    if (options.misbehave !== undefined) {
      proxy = createHTTPServer({
        router: misbehavingRouter(() => target!, options.misbehave, options.hold),
        basePath: "/trpc/",
        createContext: linkContextFromRequest(Runtime.defaultRuntime),
      });
      proxyUrl = await listen(proxy);
    }
    const nodeConfig = NodeConfig.parse({
      listen: { host: "127.0.0.1", port: options.listenPort ?? 0 },
      dataDir,
      gateways: [{ url: gatewayUrl, address: key.address }],
      ...(routing.session === undefined ? {} : { session: config.session }),
      ...(proxyUrl === undefined ? {} : { publicUrl: proxyUrl }),
      ...(options.streamHeads === undefined ? {} : { streamHeads: options.streamHeads }),
      services: [
        {
          serviceId: options.textService ?? "llama-2-13b",
          tiers: ["standard", "batch"],
          backends: [{ kind: "dev", ...options.backend }],
        },
        { serviceId: "stable-diffusion", tiers: ["standard"], backends: [{ kind: "dev" }] },
      ],
      logLevel: "error",
    });
    const scope = Effect.runSync(Scope.make());
    const log = createLogger({ app: "node-test", level: "error" });
    const node = await Effect.runPromise(
      Scope.extend(
        startNode(nodeConfig, {
          log,
          claimLoop: false,
          ...(options.now === undefined ? {} : { now: options.now }),
        }),
        scope,
      ),
    );
    target = node;
    let stopped = false;
    const stop = async () => {
      if (stopped) return;
      stopped = true;
      await Effect.runPromise(Scope.close(scope, Exit.void));
      if (proxy !== undefined) await close(proxy);
      rmSync(dataDir, { recursive: true, force: true });
    };
    cleanups.push(stop);
    return { node, address: node.key.address, stop };
  };

  return {
    key,
    metrics,
    managed,
    gatewayUrl,
    setBoard: (next: Scoreboard) => {
      board = next;
    },
    startNode: startTestNode,
    close: async () => {
      // Together: a node whose gateway cut a stream short may hold that connection until its drain
      // limit (10 s) when it shuts down, and one after another those limits add up.
      await Promise.all(cleanups.map((c) => c()));
      await close(gateway);
      await close(evaluator);
      await managed.dispose();
    },
  };
}

/** A whole PNG of the wrong size for any image a test asks for. */
const ONE_PIXEL = Buffer.from(encodePng({ width: 1, height: 1, data: Uint8Array.of(0, 0, 0, 255) })).toString(
  "base64",
);

/** A node router in front of a real node that corrupts what it answers. */
/** The signed refusal each refusing misbehaviour answers with. */
const SIGNED_REFUSALS = {
  "engine-rejected": "ENGINE_REJECTED",
  "input-too-long": "INPUT_TOO_LONG",
  "rate-limited": "RATE_LIMITED",
  "unknown-service": "UNKNOWN_SERVICE",
  "unsupported-parameter": "UNSUPPORTED_PARAMETER",
} as const satisfies Partial<Record<Misbehaviour, ErrorCode>>;

function misbehavingRouter(node: () => RunningNode, mode: Misbehaviour, hold?: Promise<void>) {
  // The node announces the proxy as its endpoint: the proxy calls the node at its own address.
  const caller = () => makeNodeClient(`${node().url}/trpc`);
  const flip = (signature: string) =>
    `${signature.slice(0, 10)}${signature[10] === "0" ? "1" : "0"}${signature.slice(11)}`;
  return router({
    relay: publicProcedure.input(z.unknown()).mutation(async ({ input, signal }) => {
      const answer = await caller().relay.mutate(input, signal === undefined ? {} : { signal });
      await hold;
      if (mode === "uncoded-error") throw new Error("the node hung up");
      const code = SIGNED_REFUSALS[mode as keyof typeof SIGNED_REFUSALS];
      if (code !== undefined) {
        const { signature: _s, v: _v, node: _n, payload: _p, ...fields } = answer;
        return createRelayResponse(
          {
            ...fields,
            outcome: "error",
            error: { code, message: "refused", detail: "the engine refused the request" },
            usage: { inputTokens: 0, outputTokens: 0 },
            computeUnits: 0,
          } as never,
          node().key,
        );
      }
      if (mode === "no-logprobs" || mode === "null-logprobs") {
        const { signature: _s, v: _v, node: _n, ...fields } = answer;
        const payload = answer.payload as { choices: { logprobs?: { token_logprobs?: unknown[] } }[] };
        const choices = payload.choices.map((choice) => ({
          ...choice,
          logprobs:
            mode === "no-logprobs"
              ? null
              : { ...choice.logprobs, token_logprobs: choice.logprobs?.token_logprobs?.map(() => null) },
        }));
        return createRelayResponse({ ...fields, payload: { ...payload, choices } } as never, node().key);
      }
      if (mode === "small-image") {
        const { signature: _s, v: _v, node: _n, ...fields } = answer;
        const payload = answer.payload as { data: object[] };
        const data = payload.data.map((item) => ({ ...item, b64_json: ONE_PIXEL }));
        return createRelayResponse({ ...fields, payload: { ...payload, data } } as never, node().key);
      }
      return mode === "bad-signature" ? { ...answer, signature: flip(answer.signature) } : answer;
    }),
    relayStream: publicProcedure.input(z.unknown()).mutation(async function* ({ input, signal }) {
      let previous: string | undefined;
      let n = 0;
      // A proxy that stops reading hangs up on the node too (else the node's stream waits for a reader).
      const upstream = new AbortController();
      signal?.addEventListener("abort", () => upstream.abort(), { once: true });
      try {
        for await (const chunk of await caller().relayStream.mutate(input, { signal: upstream.signal })) {
          n += 1;
          if (mode === "cut-stream" && n === 3) throw new Error("the node went away");
          if (mode === "forged-tail" && n === 2) {
            // Unsigned chunks that extend the chain correctly, then a cut before any signed head.
            let chain = previous!;
            for (let seq = chunk.seq; seq < chunk.seq + 3; seq++) {
              const data = {
                ...(chunk.data as object),
                choices: [{ index: 0, delta: { content: " forged" }, finish_reason: null }],
              };
              chain = relayStreamChain(chain, data);
              yield { v: 1, requestHash: chunk.requestHash, seq, data, chain, node: chunk.node };
            }
            throw new Error("the node went away");
          }
          previous = chunk.chain;
          const tampered =
            mode !== "cut-stream" && mode !== "forged-tail" && n === 3 && chunk.signature !== undefined;
          yield tampered ? { ...chunk, signature: flip(chunk.signature!) } : chunk;
        }
      } finally {
        upstream.abort();
      }
    }),
    info: publicProcedure.query(() => caller().info.query()),
    health: publicProcedure.query(() => caller().health.query()),
  });
}

export type TestNetwork = Awaited<ReturnType<typeof startTestNetwork>>;
