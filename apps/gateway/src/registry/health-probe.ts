import { Clock, Effect, Layer } from "effect";
import { askNode, NodeClients } from "../relay/node-client.js";
import { RoutingSettings } from "../routing/routing-config.js";
import { healthProbeSchedule } from "../routing/schedules.js";
import { NodeRegistry } from "./node-registry.js";

/** Asks one node for its `health`; healthy when it answers `ok` in time. */
export const probeNode = Effect.fn("NodeRegistry.probe")(function* (address: string) {
  const registry = yield* NodeRegistry;
  const clients = yield* NodeClients;
  const node = registry.get(address);
  if (node === undefined) return;
  const started = performance.now();
  const answer = yield* askNode((signal) => clients.get(node.endpoint).health.query(undefined, { signal }));
  const ok = answer?.ok === true;
  const now = yield* Clock.currentTimeMillis;
  registry.recordProbe(address, ok, now, ok ? performance.now() - started : undefined);
});

/** One round of probes over every fresh node, a few at a time. */
export const probeAll = Effect.gen(function* () {
  const registry = yield* NodeRegistry;
  const now = yield* Clock.currentTimeMillis;
  const due = registry.list().filter((n) => registry.isFresh(n, now));
  yield* Effect.forEach(due, (n) => probeNode(n.address), { concurrency: 16, discard: true });
});

/** Probes every registered node every `healthCheckMs` for the layer's lifetime. */
export const HealthProbeLive = Layer.scopedDiscard(
  Effect.gen(function* () {
    const settings = yield* RoutingSettings;
    yield* Effect.forkScoped(Effect.repeat(probeAll, healthProbeSchedule(settings.healthCheckMs)));
  }),
);
