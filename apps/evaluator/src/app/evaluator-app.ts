import { join } from "node:path";
import { createLogger, observabilityLayer, serveHttp } from "@pocket-ai/runtime";
import { Effect, Layer, Random } from "effect";
import type { EvaluatedNode, EvaluatorConfig, ReferenceModel } from "../config/evaluator-config.js";
import { EvaluatorStore } from "../db/evaluator-store.js";
import { EvaluatorConfigError } from "../errors.js";
import { referenceModelOf } from "../images/image-reference.js";
import { evaluatorHandler } from "../leaderboard/http-handler.js";
import { makeOpenAiTransport, openAiTransportLayer } from "../probe/openai-transport.js";
import { ProbeTransport } from "../probe/probe-transport.js";
import { loadProbeTexts } from "../probe-text/load-probe-texts.js";
import { POOL_NAMES, type ProbeTexts } from "../probe-text/probe-texts.js";
import { buildScoreboard, measuredNodes } from "../publish/scoreboard.js";
import { runNode } from "../runs/run-node.js";
import { roundSchedule } from "../schedules.js";
import { barReach, unreachableBars } from "../scoring/reachable-bars.js";
import { DEFAULT_TIER_BARS, type TierBar } from "../scoring/tiers.js";
import { loadSuite } from "../tasks/load-task.js";
import type { Task } from "../tasks/task-definition.js";

/**
 * Fails when a tier bar is out of reach at the configured sizes: a node scoring halfway between
 * the bar and perfect would never clear it, even with the whole evidence window pooled.
 */
export function checkBarsReachable(
  tasks: readonly Task[],
  settings: EvaluatorConfig["run"],
  bars: readonly TierBar[] = DEFAULT_TIER_BARS,
): Effect.Effect<void, EvaluatorConfigError> {
  const out = unreachableBars(barReach(tasks, settings, bars));
  if (out.length === 0) return Effect.void;
  return Effect.fail(
    new EvaluatorConfigError({
      problems: out.map(
        (r) =>
          `${r.bar.serviceId} needs ${r.needed} effective items in '${r.bar.category}' (bar ${r.bar.minScore}); ` +
          `the suite gives ${r.perRun.toFixed(1)} per run and ${r.pooled.toFixed(1)} over ${settings.evidenceRounds} rounds ` +
          `at decay ${settings.evidenceDecay}: raise run.itemsPerTask (0 = every item), run.evidenceRounds or run.evidenceDecay, or add items to that category`,
      ),
    }),
  );
}

/**
 * Says which probe-text pools are private: the public defaults can be parsed by anyone who reads
 * them (docs/security.md, "Public probe texts").
 */
const logProbeTexts = (texts: ProbeTexts) => {
  const publicPools = POOL_NAMES.filter((n) => !texts.privatePools.includes(n));
  return publicPools.length === 0
    ? Effect.logInfo("probe texts: private pools")
    : Effect.logWarning(
        `probe texts: public default pools for ${publicPools.join(", ")}; configure private ones under probeTexts so that nodes cannot recognise probes by their wording`,
      );
};

/** The layer every command needs: the SQLite store and the gateway transport. */
export function evaluatorLayer(config: EvaluatorConfig) {
  return Layer.merge(
    EvaluatorStore.layer(join(config.dataDir, "evaluator.sqlite")),
    openAiTransportLayer(config.gateway),
  );
}

const endpointOf = (config: EvaluatorConfig, ref: ReferenceModel) => ({
  transport: makeOpenAiTransport(ref.gateway ?? config.gateway),
  model: ref.model,
  targetNode: ref.targetNode,
});

const referenceName = (config: EvaluatorConfig, node: EvaluatedNode) => {
  const name = node.kind === "image" ? referenceModelOf(node) : node.declaredModel;
  // Own entries only: a node declaring `constructor` or `toString` has no reference.
  return name !== null && Object.hasOwn(config.references, name) ? name : undefined;
};

/**
 * The entry of `references` that scores self-consistency organic checks: `scorer:` when set, else
 * the first entry a text node declares (so any configuration with a text reference checks every
 * text node on its customers' traffic); undefined when there is none.
 */
export function scorerName(config: EvaluatorConfig): string | undefined {
  if (config.scorer !== undefined) return config.scorer;
  const declared = new Set(
    config.nodes.flatMap((n) => (n.kind === "text" && n.declaredModel !== null ? [n.declaredModel] : [])),
  );
  return Object.keys(config.references).find((name) => declared.has(name));
}

/**
 * Text nodes whose customers' answers no check can reach: no reference of their own and no
 * scorer. They are scored, but granted no quality tier.
 */
export function uncheckedNodes(config: EvaluatorConfig, nodes: readonly EvaluatedNode[]): EvaluatedNode[] {
  if (scorerName(config) !== undefined) return [];
  return nodes.filter((n) => n.kind === "text" && referenceName(config, n) === undefined);
}

/** The trusted endpoints of one node: its reference, or (text nodes without one) the scorer. */
export const endpointsFor = (config: EvaluatorConfig, node: EvaluatedNode) => {
  const own = referenceName(config, node);
  if (own !== undefined) return { reference: endpointOf(config, config.references[own]!) };
  const scorer = node.kind === "text" ? scorerName(config) : undefined;
  return scorer === undefined ? {} : { scorer: endpointOf(config, config.references[scorer]!) };
};

/**
 * One round: every selected node, `nodeConcurrency` at a time, each rate-limited on its own. Text
 * nodes run the task suite and identity probes, image nodes the image checks (`src/images`). It
 * fails before any probe when the gateway does not answer or refuses the key (`GatewayUnavailable`).
 */
export const runRound = Effect.fn("Evaluator.runRound")(function* (
  config: EvaluatorConfig,
  nodes: readonly EvaluatedNode[],
  onProgress?: (node: EvaluatedNode) => ((done: number, total: number) => void) | undefined,
) {
  const tasks = yield* loadSuite(config.tasks);
  if (nodes.some((n) => n.kind === "text")) yield* checkBarsReachable(tasks, config.run);
  const texts = yield* loadProbeTexts(config.probeTexts);
  // A gateway that is down or refuses the key would fail every probe: no node is to blame for that.
  const transport = yield* ProbeTransport;
  if (nodes.length > 0 && transport.checkAccess !== undefined) yield* transport.checkAccess();
  const unchecked = uncheckedNodes(config, nodes);
  if (unchecked.length > 0)
    yield* Effect.logWarning(
      "text nodes without a reference and no scorer: their customers' answers cannot be checked, so they get no quality tier; add a text model to references (or name one in scorer)",
    ).pipe(Effect.annotateLogs({ nodes: unchecked.map((n) => n.address) }));
  return yield* Effect.forEach(
    nodes,
    (node) =>
      runNode({
        node,
        tasks,
        settings: config.run,
        ...endpointsFor(config, node),
        onProgress: onProgress?.(node),
        texts,
      }),
    { concurrency: config.run.nodeConcurrency },
  );
});

/** Serves the leaderboard page, `/scoreboard.json` and tRPC for the scope's lifetime. */
export const serveBoard = Effect.fn("Evaluator.serve")(function* (config: EvaluatorConfig) {
  const store = yield* EvaluatorStore;
  const clock = yield* Effect.clock;
  const handler = evaluatorHandler(
    {
      store,
      evaluatorId: config.evaluatorId,
      now: () => clock.unsafeCurrentTimeMillis(),
      measured: measuredNodes(config.nodes),
    },
    yield* Effect.runtime<never>(),
    { metrics: config.metrics },
  );
  return yield* serveHttp({
    handler,
    host: config.listen.host,
    port: config.listen.port,
    portSetting: "listen.port",
  });
});

/**
 * The long-running evaluator: serve the board and run a round over all nodes on a schedule. A
 * suite that does not load, or bars out of its reach, fail at once: every round would fail alike.
 */
export const startEvaluator = (config: EvaluatorConfig) =>
  Effect.gen(function* () {
    // A suite that cannot load or bars it cannot reach would fail every round: refuse to start.
    const tasks = yield* loadSuite(config.tasks);
    if (config.nodes.some((n) => n.kind === "text")) yield* checkBarsReachable(tasks, config.run);
    yield* logProbeTexts(yield* loadProbeTexts(config.probeTexts));
    const server = yield* serveBoard(config);
    yield* Effect.logInfo(`leaderboard at ${server.url}/`);
    // Each round runs the nodes in a new order: where a node's run falls in a round tells it nothing.
    yield* Effect.flatMap(Random.shuffle(config.nodes), (order) => runRound(config, [...order])).pipe(
      // Any failure, a defect too (a database error), ends this round only: the next one runs.
      Effect.catchAllCause((cause) => Effect.logError("round failed", cause)),
      Effect.repeat(roundSchedule(config.run.roundIntervalMs)),
    );
  }).pipe(
    Effect.scoped,
    Effect.provide(evaluatorLayer(config)),
    Effect.provide(
      observabilityLayer(
        createLogger({ app: "evaluator", level: config.logLevel }),
        config.telemetry,
        "evaluator",
      ),
    ),
  );

/** The board as it is stored now. */
export const currentBoard = (config: EvaluatorConfig) =>
  Effect.map(EvaluatorStore, (store) =>
    buildScoreboard(store, config.evaluatorId, Date.now(), measuredNodes(config.nodes)),
  );
