import {
  promptCharsOf,
  type TrafficMix,
  type TrafficShape,
  trafficShapeKey,
  trafficShapeOf,
} from "@pocket-ai/protocol";
import { Effect } from "effect";
import type { EvaluatedNode, RunSettings } from "../src/config/evaluator-config.js";
import type { ProbeTransportShape, RequestBody } from "../src/probe/probe-transport.js";
import type { ProbeTexts } from "../src/probe-text/probe-texts.js";
import { baseLengths } from "../src/runs/base-lengths.js";
import { executeEntry } from "../src/runs/execute-entry.js";
import { planRun } from "../src/runs/plan.js";
import type { Task } from "../src/tasks/task-definition.js";
import type { CustomerRelay } from "./customer-traffic.js";

/** What reaches a node: the operation and the body as the evaluator sent it. */
export interface RelayAtNode {
  readonly operation: "completions" | "chat.completions";
  readonly body: Record<string, unknown>;
}

export const PROBED_NODE = "pokt1probednode00000000000000000000000000";

/**
 * The mix as the gateway counts it (`TrafficMixCounter`, without decay): shapes sent by fewer
 * than 3 applications or counted fewer than 3 times left out, each application counting toward a
 * shape at most 5% of all relays.
 */
export function mixOf(relays: readonly CustomerRelay[]): TrafficMix {
  const counts = new Map<string, { shape: TrafficShape; apps: Map<string, number> }>();
  const lengths = new Map<string, NonNullable<TrafficMix["promptChars"]>[number]>();
  for (const r of relays) {
    const { upTo, linesUpTo, contextUpTo } = promptCharsOf(r.operation, r.body);
    const shape = trafficShapeOf(r.operation, r.body);
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
    const entry = counts.get(trafficShapeKey(shape)) ?? { shape, apps: new Map<string, number>() };
    entry.apps.set(r.app, (entry.apps.get(r.app) ?? 0) + 1);
    counts.set(trafficShapeKey(shape), entry);
  }
  const cap = 0.05 * relays.length;
  return {
    total: relays.length,
    shapes: [...counts.values()]
      .filter((e) => e.apps.size >= 3)
      .map((e) => ({
        shape: e.shape,
        count: [...e.apps.values()].reduce((sum, c) => sum + Math.min(c, cap), 0),
      }))
      .filter((e) => e.count >= 3),
    promptChars: [...lengths.values()].filter((l) => l.count >= 3),
  };
}

/** A transport that records what reaches the probed node and answers plausibly. */
function recordingTransport(sink: (relay: RelayAtNode) => void): ProbeTransportShape {
  const timing = { totalMs: 5, ttftMs: 1 };
  const seen = (operation: RelayAtNode["operation"], body: RequestBody, stream: boolean) =>
    sink({ operation, body: { ...body, ...(stream ? { stream: true } : {}) } });
  return {
    completions: (body, target, options) =>
      Effect.sync(() => {
        if (target.node === PROBED_NODE) seen("completions", body, options?.stream === true);
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
        if (target.node === PROBED_NODE) seen("chat.completions", body, options?.stream === true);
        return { content: "B", completionTokens: 1, timing };
      }),
    images: () => Effect.die(new Error("no images here")),
    imageEdits: () => Effect.die(new Error("no images here")),
  };
}

/**
 * What a node receives from whole evaluator runs over `tasks` (items, identity, fingerprint and
 * speed probes), in shapes drawn from `mix` (covert) or, without one, the measuring shapes, with
 * texts from `texts` (the public default pools when unset).
 */
export async function probeRelays(
  tasks: readonly Task[],
  mix: TrafficMix | undefined,
  count: number,
  settings: Partial<RunSettings> = {},
  texts?: ProbeTexts,
): Promise<RelayAtNode[]> {
  const out: RelayAtNode[] = [];
  const transport = recordingTransport((r) => out.push(r));
  const run = { itemsPerTask: 0, identityPrompts: 24, speedProbes: 8, ...settings } as RunSettings;
  const node: EvaluatedNode = {
    address: PROBED_NODE,
    serviceId: "dev-text",
    model: "dev-text",
    declaredModel: "m",
    kind: "text",
  };
  for (let i = 0; out.length < count; i++) {
    const seed = 5000 + i;
    const plan = planRun(tasks, run, seed);
    const ctx = {
      runId: `run-${i}`,
      seed,
      node,
      transport,
      reference: { transport, model: "reference" },
      loglikelihoodUnsupported: () => false,
      now: () => Date.UTC(2026, 0, 1 + i),
      covert:
        mix === undefined ? undefined : { mix, echo: () => true, bases: baseLengths(plan, seed, texts) },
      texts,
    };
    for (const entry of plan) await Effect.runPromise(executeEntry(ctx, entry));
  }
  return out.slice(0, count);
}
