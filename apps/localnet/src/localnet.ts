import { join } from "node:path";
import { evaluatorLayer, runRound, serveBoard } from "@pocket-ai/evaluator/app";
import type { EvaluatedNode } from "@pocket-ai/evaluator/config";
import { EvaluatorConfig } from "@pocket-ai/evaluator/config";
import { type GatewayAppRouter, GatewayConfig, type RunningGateway, startGateway } from "@pocket-ai/gateway";
import { NodeConfig, type RunningNode, startNode } from "@pocket-ai/node";
import { weekIdOf } from "@pocket-ai/protocol";
import {
  createLogger,
  describeCause,
  type Logger,
  type StartCode,
  StartFailure,
  withStartCode,
} from "@pocket-ai/runtime";
import { tinyModelPath } from "@pocket-ai/tiny-model";
import { createTRPCClient, httpLink } from "@trpc/client";
import {
  Data,
  Duration,
  Effect,
  Logger as EffectLogger,
  ExecutionStrategy,
  Layer,
  LogLevel,
  Schedule,
  Scope,
} from "effect";
import { LOCAL_NODES, type LocalnetConfig, TINY_MODEL_NODE, TINY_MODEL_SERVICE } from "./localnet-config.js";
import { loadState, saveState } from "./localnet-state.js";
import { ensurePortsFree } from "./ports.js";

/**
 * The declared model's reference for the evaluator's model test: the full-quality node (the one
 * that serves the development engine at quality 1), reached through the gateway like any probe.
 */
function referenceOf(
  nodes: readonly { readonly name: string; readonly node: { readonly key: { readonly address: string } } }[],
  baseUrl: string,
  apiKey: string,
) {
  const best = LOCAL_NODES.reduce((a, b) => (b.quality > a.quality ? b : a));
  const node = nodes.find((n) => n.name === best.name);
  return node === undefined
    ? {}
    : {
        "llama-2-13b": {
          gateway: { baseUrl, apiKey },
          model: `llama-2-13b:${best.textTiers[0]}`,
          targetNode: node.node.key.address,
        },
      };
}

/** Why the local network cannot start: a stable code (the runtime's `START_CODES`) and what to do. */
export class LocalnetError extends Data.TaggedError("LocalnetError")<{
  readonly code: StartCode;
  readonly reason: string;
}> {
  override get message(): string {
    return withStartCode(this.code, this.reason);
  }

  /** A part's failure (`context` names it), under the part's own code, else `START_FAILED`. */
  static of(error: unknown, context?: string): LocalnetError {
    const { code, reason } = StartFailure.of(error, "START_FAILED", context);
    return new LocalnetError({ code, reason });
  }
}

export interface RunningLocalnet {
  readonly gateway: RunningGateway;
  readonly nodes: readonly { readonly name: string; readonly node: RunningNode }[];
  /** `<gateway>/v1`, for `OPENAI_BASE_URL`. */
  readonly baseUrl: string;
  /** The demo application's API key. */
  readonly apiKey: string;
  readonly leaderboardUrl: string;
  /** The web portal: sign-up, keys, usage, catalog, and the operator's console. */
  readonly portalUrl: string;
  readonly adminToken: string;
  readonly admin: ReturnType<typeof adminClient>;
}

function adminClient(trpcUrl: string, token: string) {
  return createTRPCClient<GatewayAppRouter>({
    links: [httpLink({ url: trpcUrl, headers: () => ({ authorization: `Bearer ${token}` }) })],
  });
}

const step =
  (say: (line: string) => void, what: string) =>
  <A, E, R>(effect: Effect.Effect<A, E, R>) =>
    Effect.gen(function* () {
      say(`  … ${what}`);
      const started = Date.now();
      const result = yield* effect;
      say(`  ✓ ${what} (${Date.now() - started} ms)`);
      return result;
    });

const call = <A>(what: string, f: () => Promise<A>) =>
  Effect.tryPromise({
    try: f,
    catch: (e) => LocalnetError.of(e, what),
  });

/**
 * Starts the whole network for the scope's lifetime: a gateway, three nodes on the development
 * backend (different quality and speed; one on the batch tier, as a CPU node), and the
 * evaluator. It waits until every node has registered and is healthy, creates (or reuses) a demo
 * application and key and an evaluator key, sets the week's POKT rate, and starts evaluation.
 * Closing the scope stops everything in order: the evaluator, the gateway (its streams still
 * running end as its shutdown's), then the nodes.
 */
export function startLocalnet(
  config: LocalnetConfig,
  options: { readonly say?: (line: string) => void; readonly log?: Logger } = {},
): Effect.Effect<RunningLocalnet, LocalnetError, Scope.Scope> {
  return Effect.gen(function* () {
    const say = options.say ?? (() => {});
    const log = options.log ?? createLogger({ app: "localnet", level: config.logLevel });
    const { host, ports } = config;
    yield* ensurePortsFree(host, [
      { port: ports.gateway, what: "gateway", env: "POCKET_LOCALNET__PORTS__GATEWAY" },
      { port: ports.evaluator, what: "evaluator", env: "POCKET_LOCALNET__PORTS__EVALUATOR" },
      ...ports.nodes.map((port, i) => ({
        port,
        what: `node ${LOCAL_NODES[i]!.name}`,
        env: "POCKET_LOCALNET__PORTS__NODES",
      })),
    ]).pipe(Effect.mapError((e) => LocalnetError.of(e)));
    const state = yield* Effect.try({
      try: () => {
        const loaded = loadState(config.dataDir);
        saveState(config.dataDir, loaded);
        return loaded;
      },
      catch: (e) =>
        new LocalnetError({
          code: "DATA_DIR_UNAVAILABLE",
          reason: `cannot keep the local network's state in ${config.dataDir} (${(e as Error).message}): choose a folder this user may write to (POCKET_LOCALNET__DATA_DIR)`,
        }),
    });
    const evaluatorUrl = `http://${host}:${ports.evaluator}`;

    // The gateway lives in a scope of its own, closed before the nodes stop (see below).
    const gatewayScope = yield* Scope.fork(yield* Effect.scope, ExecutionStrategy.sequential);
    const gateway = yield* startGateway(
      GatewayConfig.parse({
        listen: { host, port: ports.gateway },
        dataDir: join(config.dataDir, "gateway"),
        adminToken: state.adminToken,
        operator: "localnet-portal",
        routing: {
          session: config.session,
          healthCheckMs: 2_000,
          announceEveryMs: 10_000,
          hedge: { enabled: config.hedging },
          // The local nodes listen on this machine.
          allowPrivateEndpoints: true,
          ...(config.evaluation.enabled ? { evaluator: { url: `${evaluatorUrl}/trpc`, pollMs: 5_000 } } : {}),
        },
        // A development network stops at Ctrl-C in about a second, open streams ended (the task runner
        // in front of it waits only a few seconds before it kills).
        drainMs: 1_000,
        logLevel: config.logLevel,
        // Loopback only: the listed operator address is trusted on sign-up (no mail to verify it).
        portal: { admins: config.portalAdmins, trustListedAdmins: true },
        catalog: { services: [TINY_MODEL_SERVICE] },
      }),
      { log: log.child({ app: "gateway" }) },
    ).pipe(
      Scope.extend(gatewayScope),
      Effect.mapError((e) => LocalnetError.of(e, "gateway")),
      step(say, `gateway on ${host}:${ports.gateway}`),
    );

    const nodes = yield* Effect.forEach(LOCAL_NODES, (spec, i) =>
      startNode(
        NodeConfig.parse({
          listen: { host, port: ports.nodes[i] },
          dataDir: join(config.dataDir, `node-${spec.name}`),
          operator: spec.operator,
          gateways: [{ url: gateway.trpcUrl, address: gateway.key.address }],
          session: config.session,
          hardware: spec.hardware,
          shutdownDrainMs: 1_000,
          logLevel: config.logLevel,
          catalog: { services: [TINY_MODEL_SERVICE] },
          services: [
            {
              serviceId: "llama-2-13b",
              tiers: [...spec.textTiers],
              model: {
                declared: `pocket-ai-dev-ngram (quality ${spec.quality})`,
                family: "dev",
                quantization: "none",
              },
              backends: [
                {
                  kind: "dev",
                  quality: spec.quality,
                  tokensPerSecond: spec.tokensPerSecond,
                  firstTokenMs: spec.firstTokenMs,
                },
              ],
            },
            ...(spec.images
              ? [
                  { serviceId: "stable-diffusion", tiers: ["standard"], backends: [{ kind: "dev" }] },
                  { serviceId: "nomic-embed-text", tiers: ["standard"], backends: [{ kind: "dev" }] },
                ]
              : []),
            ...(spec.name === TINY_MODEL_NODE ? [tinyModelService()] : []),
          ],
        }),
        { log: log.child({ app: `node-${spec.name}` }) },
      ).pipe(
        Effect.map((node) => ({ name: spec.name, node })),
        Effect.mapError((e) => LocalnetError.of(e, `node ${spec.name}`)),
        step(
          say,
          `node ${spec.name} on ${host}:${ports.nodes[i]} (quality ${spec.quality}, ${spec.textTiers.join("+")})`,
        ),
      ),
    );

    // On stop the gateway drains first, then the nodes stop: a stream still running ends as the
    // gateway's shutdown (GATEWAY_SHUTTING_DOWN, its node paid for what reached the client), not as
    // its node's failure, which the client was charged for and the node paid nothing for.
    yield* Effect.addFinalizer((exit) => Scope.close(gatewayScope, exit));

    const admin = adminClient(gateway.trpcUrl, state.adminToken);
    yield* Effect.gen(function* () {
      const listed = yield* call("listing nodes", () => admin.admin.nodes.list.query());
      const ready = nodes.every((n) =>
        listed.some((l) => l.address === n.node.key.address && (l.state === "up" || l.state === "unprobed")),
      );
      if (!ready)
        return yield* new LocalnetError({ code: "START_FAILED", reason: "nodes not registered yet" });
    }).pipe(
      Effect.retry({ schedule: Schedule.spaced(Duration.millis(200)), times: 150 }),
      Effect.mapError(
        () =>
          new LocalnetError({
            code: "START_FAILED",
            reason: "the nodes did not register with the gateway within 30 s; see the logs above",
          }),
      ),
      step(say, "nodes registered and healthy"),
    );

    const demo = yield* ensureKey(admin, state.demo, "demo application", "application").pipe(
      step(say, "demo application and key"),
    );
    const evaluatorKey = yield* ensureKey(admin, state.evaluator, "evaluator", "evaluator");
    saveState(config.dataDir, { ...state, demo, evaluator: evaluatorKey });

    const weekId = weekIdOf(Date.now());
    const rates = yield* call("listing rates", () => admin.admin.settlement.rates.list.query());
    if (!rates.some((r: { weekId: string }) => r.weekId === weekId)) {
      yield* call("setting the week's rate", () =>
        admin.admin.settlement.rates.set.mutate({ weekId, rateMicroUsdPerPokt: config.rateMicroUsdPerPokt }),
      );
    }

    const evaluatorConfig = EvaluatorConfig.parse({
      evaluatorId: "localnet-evaluator",
      dataDir: join(config.dataDir, "evaluator"),
      listen: { host, port: ports.evaluator },
      gateway: { baseUrl: `${gateway.url}/v1`, apiKey: evaluatorKey.secret },
      nodes: nodes.flatMap(({ name, node }): EvaluatedNode[] => {
        const spec = LOCAL_NODES.find((s) => s.name === name)!;
        // Every text node declares the model it registers; the full-quality node is the reference,
        // so the model test runs and a node serving a weaker model under that name is caught.
        const text: EvaluatedNode = {
          address: node.key.address,
          serviceId: "llama-2-13b",
          model: `llama-2-13b:${spec.textTiers[0]}`,
          declaredModel: "llama-2-13b",
          kind: "text",
        };
        const tiny: EvaluatedNode[] =
          name === TINY_MODEL_NODE
            ? [
                {
                  address: node.key.address,
                  serviceId: TINY_MODEL_SERVICE.id,
                  model: TINY_MODEL_SERVICE.id,
                  declaredModel: null,
                  kind: "text",
                  // Scored and shown, but it was trained on text the starter tasks paraphrase:
                  // its scores are no measure of what a customer would get, so it sells no
                  // quality service.
                  grantsTiers: false,
                },
              ]
            : [];
        return spec.images
          ? [
              text,
              {
                address: node.key.address,
                serviceId: "stable-diffusion",
                model: "stable-diffusion",
                declaredModel: null,
                kind: "image",
              },
              ...tiny,
            ]
          : [text, ...tiny];
      }),
      references: referenceOf(nodes, `${gateway.url}/v1`, evaluatorKey.secret),
      run: {
        itemsPerTask: config.evaluation.itemsPerTask,
        roundIntervalMs: config.evaluation.roundIntervalMs,
        perNodeRatePerSecond: 25,
        identityPrompts: 8,
        speedProbes: 4,
      },
    });
    const quiet = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
      EffectLogger.withMinimumLogLevel(effect, LogLevel.Warning);
    const evaluatorScope = yield* Layer.build(evaluatorLayer(evaluatorConfig)).pipe(
      Effect.mapError((e) => LocalnetError.of(e, "evaluator")),
    );
    const board = yield* serveBoard(evaluatorConfig).pipe(
      Effect.provide(evaluatorScope),
      Effect.mapError((e) => LocalnetError.of(e, "evaluator")),
      step(say, `evaluator and leaderboard on ${host}:${ports.evaluator}`),
    );
    if (config.evaluation.enabled) {
      yield* Effect.forkScoped(
        quiet(
          runRound(evaluatorConfig, evaluatorConfig.nodes).pipe(
            Effect.tap(() => Effect.sync(() => log.info("evaluation round finished"))),
            Effect.catchAllCause((cause) =>
              Effect.sync(() => log.warn("evaluation round failed", { error: describeCause(cause) })),
            ),
            Effect.repeat(Schedule.spaced(Duration.millis(config.evaluation.roundIntervalMs))),
            Effect.provide(evaluatorScope),
          ),
        ),
      );
    }

    return {
      gateway,
      nodes,
      baseUrl: `${gateway.url}/v1`,
      apiKey: demo.secret,
      leaderboardUrl: `${board.url}/`,
      portalUrl: `${gateway.url}/portal/`,
      adminToken: state.adminToken,
      admin,
    };
  });
}

/** Node beta's second text service: the tiny llama model in llama.cpp, on one CPU thread. */
function tinyModelService() {
  return {
    serviceId: TINY_MODEL_SERVICE.id,
    tiers: ["standard"],
    model: { declared: "pocket-tiny", family: "pocket-tiny", quantization: "f16" },
    backends: [
      { kind: "gguf", modelPath: tinyModelPath("pocket-tiny"), gpu: "off", threads: 1, maxConcurrency: 2 },
    ],
  };
}

/** Reuses a stored key if the gateway still has it active; otherwise creates an application and key. */
function ensureKey(
  admin: ReturnType<typeof adminClient>,
  stored: { applicationId: string; keyId: string; secret: string } | undefined,
  name: string,
  role: "application" | "evaluator",
) {
  return Effect.gen(function* () {
    if (stored !== undefined) {
      const keys = yield* call("listing keys", () =>
        admin.admin.keys.list.query({ applicationId: stored.applicationId }),
      );
      if (keys.some((k: { id: string; status: string }) => k.id === stored.keyId && k.status === "active"))
        return stored;
    }
    const app = yield* call("creating an application", () =>
      admin.admin.applications.create.mutate({ name }),
    );
    const created = yield* call("creating a key", () =>
      admin.admin.keys.create.mutate({ applicationId: app.id, name: `${name} key` }),
    );
    if (role === "evaluator") {
      yield* call("marking the evaluator key", () =>
        admin.admin.keyRoles.set.mutate({ keyId: created.key.id, role: "evaluator" }),
      );
    }
    return { applicationId: app.id, keyId: created.key.id, secret: created.secret };
  });
}
