import { randomUUID } from "node:crypto";
import type { OrganicSample } from "@pocket-ai/protocol";
import { Effect } from "effect";
import type { EvaluatedNode, RunSettings } from "../config/evaluator-config.js";
import { EvaluatorStore } from "../db/evaluator-store.js";
import { organicCheck, type ScoringEndpoint, selfConsistencyCheck } from "../identity/organic-check.js";
import { imageProbeLimits } from "../images/image-request.js";
import { ProbeTransport } from "../probe/probe-transport.js";
import type { ProbeTexts } from "../probe-text/probe-texts.js";
import { refreshSharedBackendGroups } from "../publish/shared-groups.js";
import { guessChance } from "../scoring/answer-key.js";
import { FAKE_LOGPROBS_CODE, nodeScoreOf } from "../scoring/node-score.js";
import { DEFAULT_TIER_BARS, type TierBar } from "../scoring/tiers.js";
import type { Task } from "../tasks/task-definition.js";
import { baseLengths } from "./base-lengths.js";
import { executeEntry } from "./execute-entry.js";
import { type RetryAfterWait, watchGateway } from "./gateway-watch.js";
import { IMAGE_SUITE_HASH, planImageRun, planRun, suiteHash } from "./plan.js";
import { usableMix } from "./probe-shape.js";
import { poissonPaced, rateLimited } from "./rate-limited.js";
import { createRng, deriveSeed } from "./rng.js";

export interface RunNodeOptions {
  readonly node: EvaluatedNode;
  readonly tasks: readonly Task[];
  readonly settings: RunSettings;
  /** The declared model's reference (model test, organic checks against it). */
  readonly reference?: ScoringEndpoint | undefined;
  /**
   * Scores self-consistency organic checks of a text node without a `reference`. With neither,
   * its customers' answers cannot be checked and it is granted no quality tier.
   */
  readonly scorer?: ScoringEndpoint | undefined;
  readonly bars?: readonly TierBar[];
  /** Called after every step with (done, total). */
  readonly onProgress?: ((done: number, total: number) => void) | undefined;
  readonly now?: () => number;
  /** The run's seed when a new run starts (a resumed run keeps its own); random by default. */
  readonly seed?: number | undefined;
  /** The probe-text pools (`loadProbeTexts`); the public defaults when unset. */
  readonly texts?: ProbeTexts | undefined;
  /** How the run waits out a gateway's `Retry-After` before sending a probe again; a sleep by default. */
  readonly waitRetryAfter?: RetryAfterWait | undefined;
}

/**
 * Evaluates one node: plans the run (or resumes the node's unfinished run with the same seed and
 * suite), sends each remaining step through the node's rate-limited transport, stores each result
 * as it comes, then publishes the node's scoreboard entry and refreshes shared-backend groups.
 */
export const runNode = Effect.fn("Runner.runNode")(function* (options: RunNodeOptions) {
  const store = yield* EvaluatorStore;
  const images = options.node.kind === "image";
  const gateway = yield* ProbeTransport;
  const watched = watchGateway(gateway, options.waitRetryAfter);
  // The trusted endpoints' probes go through a gateway too, often the same key's: a refusal there
  // (rate limited, key refused) stops the run as one to the node does.
  const trusted = (e: ScoringEndpoint | undefined) =>
    e === undefined ? undefined : { ...e, transport: watched.also(e.transport) };
  const reference = trusted(options.reference);
  const scorer = trusted(options.scorer);
  const limited = yield* rateLimited(watched.transport, options.settings.perNodeRatePerSecond);
  // With customer traffic to blend into, probes go out in its shapes and at Poisson times.
  const mix = images ? undefined : usableMix(yield* gateway.trafficMix?.() ?? Effect.succeed(undefined));
  const now = options.now ?? Date.now;
  const hash = images ? IMAGE_SUITE_HASH : suiteHash(options.tasks);
  const open = store.openRun(options.node.address, options.node.serviceId, hash);
  const run = open ?? {
    id: randomUUID(),
    nodeAddress: options.node.address,
    serviceId: options.node.serviceId,
    seed: options.seed ?? Math.floor(Math.random() * 2 ** 31),
    suiteHash: hash,
    plannedItems: 0,
    startedAt: now(),
  };
  const plan = images
    ? planImageRun(options.settings, run.seed, reference !== undefined)
    : planRun(options.tasks, options.settings, run.seed);
  if (open === undefined) store.startRun({ ...run, plannedItems: plan.length });
  yield* Effect.logInfo(open === undefined ? "run started" : "run resumed").pipe(
    Effect.annotateLogs({ node: options.node.address, runId: run.id, steps: plan.length }),
  );

  const done = new Set(store.results(run.id).map((r) => r.itemKey));
  // Made-up logprobs (FAKE_LOGPROBS_CODE) are not a missing capability: those items keep being sent.
  const declined = (r: { status: string; errorCode: string | null }) =>
    r.status === "unsupported" && r.errorCode !== FAKE_LOGPROBS_CODE;
  let loglikelihoodUnsupported = store.results(run.id).some(declined);
  // Prompt log-probabilities the node has given in this run (an echo item costs a relay per choice,
  // a letter question or a generation one). A node that gave them and then declines them is not
  // missing a capability: it is choosing which items count, so the declined item fails.
  const gaveLogprobs = (r: { kind: string; status: string; probes: number }) =>
    r.kind === "item" && r.status === "scored" && r.probes > 1;
  let logprobsGiven = store.results(run.id).some(gaveLogprobs);
  const transport =
    mix === undefined
      ? limited
      : poissonPaced(limited, options.settings.perNodeRatePerSecond, createRng(deriveSeed(run.seed, "pace")));
  const ctx = {
    runId: run.id,
    seed: run.seed,
    node: options.node,
    transport,
    covert:
      mix === undefined
        ? undefined
        : {
            mix,
            echo: () => !loglikelihoodUnsupported,
            bases: baseLengths(plan, run.seed, options.texts),
            texts: options.texts,
          },
    texts: options.texts,
    reference,
    loglikelihoodUnsupported: () => loglikelihoodUnsupported,
    imageLimits: images ? imageProbeLimits(options.node, options.settings) : undefined,
    now,
  };
  // Organic samples are taken before the first probe goes out: they are customers' relays from
  // before the node could tell a run had begun. Taken at the end, they would be the ones it served
  // while the probes came, and a node that turns honest when it notices a probe would pass them.
  // Handed out once: a run stopped early (the gateway stopped answering) drops them.
  const samples =
    !images && (reference !== undefined || scorer !== undefined) && gateway.organicSamples !== undefined
      ? yield* gateway.organicSamples(options.node.address, options.node.serviceId)
      : undefined;
  let finished = done.size;
  options.onProgress?.(finished, plan.length);
  for (const entry of plan) {
    if (done.has(entry.key)) continue;
    const executed = yield* executeEntry(ctx, entry);
    // No answer from the gateway is not the node's failure: stop here, resume from here next round.
    const unavailable = watched.take();
    if (unavailable !== undefined && executed.status === "error") return yield* unavailable;
    const row =
      logprobsGiven && declined(executed)
        ? { ...executed, status: "error" as const, errorCode: "INVALID_NODE_RESPONSE" as const }
        : executed;
    if (declined(row)) loglikelihoodUnsupported = true;
    if (gaveLogprobs(row)) logprobsGiven = true;
    store.recordResult({ ...row, runId: run.id, itemKey: entry.key, createdAt: now() });
    finished += 1;
    options.onProgress?.(finished, plan.length);
  }

  // Organic checks: customer relays of this node the gateway held, scored under the reference, or
  // asked of the node again and both answers scored under the scorer (`organic-check.ts`).
  const nodeTarget = { address: options.node.address, model: options.node.model ?? options.node.serviceId };
  const check =
    reference !== undefined
      ? (sample: OrganicSample) => organicCheck(reference, sample)
      : scorer !== undefined
        ? (sample: OrganicSample) => selfConsistencyCheck(transport, nodeTarget, scorer, sample)
        : undefined;
  const organic = images
    ? undefined
    : reference !== undefined
      ? "reference"
      : check !== undefined
        ? "self"
        : "none";
  if (samples !== undefined && check !== undefined) {
    const unscored = new Map<string, number>();
    for (const [i, sample] of samples.entries()) {
      const outcome = yield* check(sample);
      // The gateway stopped answering: not the node's failure. The samples are handed out once, so
      // the rest are dropped, not kept for the next round.
      if (watched.take() !== undefined) break;
      if (outcome.row !== undefined)
        store.recordResult({
          ...outcome.row,
          runId: run.id,
          itemKey: `organic/${now()}/${i}`,
          createdAt: now(),
        });
      else unscored.set(outcome.unscored, (unscored.get(outcome.unscored) ?? 0) + 1);
    }
    // Never a prompt or an output in the log: how many checks gave nothing, and the codes why.
    if (unscored.size > 0)
      yield* Effect.logWarning("organic checks without a result").pipe(
        Effect.annotateLogs({
          node: options.node.address,
          basis: organic,
          checks: samples.length,
          unscored: Object.fromEntries(unscored),
        }),
      );
  }

  // Multiple-choice tasks and the share a guess gets right on their items.
  const loglikelihoodTasks = new Map(
    (images ? [] : options.tasks)
      .filter((t) => t.definition.output_type === "multiple_choice")
      .map((t) => [t.definition.task, guessChance(t)]),
  );
  // Earlier finished runs of the node on this service and suite, newest first, weighted by decay.
  const earlier = store
    .finishedRuns(options.node.address, options.node.serviceId, hash, options.settings.evidenceRounds)
    .filter((r) => r.id !== run.id)
    .slice(0, options.settings.evidenceRounds - 1);
  const entry = nodeScoreOf({
    node: options.node,
    rows: store.results(run.id),
    history: earlier.map((r, k) => ({
      rows: store.results(r.id),
      weight: options.settings.evidenceDecay ** (k + 1),
    })),
    loglikelihoodTasks,
    sharedBackendGroup: null,
    bars: options.bars ?? DEFAULT_TIER_BARS,
    previous: store.entry(options.node.address, options.node.serviceId),
    ...(organic === undefined ? {} : { organicCheck: organic }),
    now: now(),
  });
  store.publish(run.id, entry, now());
  store.finishRun(run.id, "finished", now());
  refreshSharedBackendGroups(store);
  return entry;
}, Effect.scoped);
