import { type Catalog, findService, type TierSpec } from "@pocket-ai/protocol";
import type { StartCode } from "@pocket-ai/runtime";
import { Context, Data, Effect, Layer, Runtime, type Scope } from "effect";
import { makeBackend } from "../backends/make-backend.js";
import type { BackendObserver, BackendPool } from "../backends/pool/backend-pool.js";
import { makeBackendPool } from "../backends/pool/backend-pool.js";
import { probeAtStart } from "../check/probe-at-start.js";
import { NodeClock } from "../clock/node-clock.js";
import type { BackendConfig, NodeConfig } from "../config/node-config.js";
import { Metrics } from "../metrics/node-metrics.js";
import type { ServedService } from "../relay/served-service.js";
import { chooseTokenCounter } from "../tokens/token-counter.js";
import { NodeSettings, NodeStartError } from "./node-settings.js";

export class ServiceConfigError extends Data.TaggedError("ServiceConfigError")<{
  /** `INVALID_CONFIG` for a service or tier the catalog lacks, `BACKEND_START_FAILED` for a backend. */
  readonly code: Extract<StartCode, "INVALID_CONFIG" | "BACKEND_START_FAILED">;
  readonly reason: string;
}> {
  override get message(): string {
    return this.reason;
  }
}

/**
 * Builds, for each configured service, its catalog entry, chosen tiers, backend pool and token
 * counter. A service or tier the catalog does not know, or a backend that could never serve the
 * service, stops the node at start with a message naming the config field.
 */
export function buildServedServices(
  config: NodeConfig,
  catalog: Catalog,
  observer: BackendObserver,
  now: () => number = Date.now,
): Effect.Effect<
  { services: Map<string, ServedService>; pools: Map<string, BackendPool> },
  ServiceConfigError,
  Scope.Scope
> {
  return Effect.gen(function* () {
    // A gguf model loads in the background: its placement is logged through the node's logger when it is in.
    const runtime = yield* Effect.runtime<never>();
    const services = new Map<string, ServedService>();
    const pools = new Map<string, BackendPool>();
    for (const [i, served] of config.services.entries()) {
      const where = `services.${i}`;
      const spec = findService(catalog, served.serviceId);
      if (spec === undefined) {
        return yield* new ServiceConfigError({
          code: "INVALID_CONFIG",
          reason: `${where}.serviceId: "${served.serviceId}" is not in the catalog (known: ${catalog.services.map((s) => s.id).join(", ")})`,
        });
      }
      const tiers = new Map<string, TierSpec>();
      for (const tierId of served.tiers) {
        const tier = (spec.tiers as readonly TierSpec[]).find((t) => t.id === tierId);
        if (tier === undefined) {
          return yield* new ServiceConfigError({
            code: "INVALID_CONFIG",
            reason: `${where}.tiers: "${tierId}" is not a tier of ${spec.id} (tiers: ${spec.tiers.map((t) => t.id).join(", ")})`,
          });
        }
        tiers.set(tierId, tier);
      }
      const made = yield* Effect.try({
        try: () =>
          served.backends.map((b, j) =>
            makeBackend(b, spec.kind, now, {
              onLoaded: (placement) => {
                const line = `${where}.backends.${j} (gguf): model loaded, ${placement.summary}`;
                Runtime.runFork(runtime)(
                  placement.note === undefined ? Effect.logInfo(line) : Effect.logWarning(line),
                );
              },
              // Relays answer BACKEND_UNAVAILABLE meanwhile; the reason is the operator's alone.
              onLoadFailed: (reason) =>
                Runtime.runFork(runtime)(
                  Effect.logWarning(
                    `${where}.backends.${j} (gguf): the model could not be loaded (${reason}); the next call tries again`,
                  ),
                ),
            }),
          ),
        catch: (e) =>
          new ServiceConfigError({
            code: "BACKEND_START_FAILED",
            reason: `${where}.backends: ${(e as Error).message}`,
          }),
      });
      // Announce only what each engine was seen to do (`check/probe-at-start.ts`).
      const backends = yield* Effect.forEach(
        made,
        (backend, j) =>
          probeAtStart(backend, served.backends[j] as BackendConfig, spec.kind).pipe(
            Effect.tap((outcome) =>
              outcome.turnedOff.length > 0
                ? Effect.logWarning(
                    `${where}.backends.${j} (${backend.id}): declared but not done by the engine, so not announced: ${outcome.turnedOff.join(", ")} (pocket-node check shows why)`,
                  )
                : outcome.kept !== undefined
                  ? Effect.logWarning(
                      `${where}.backends.${j} (${backend.id}): capabilities announced as declared, unprobed: ${outcome.kept}`,
                    )
                  : outcome.unreachable !== undefined
                    ? Effect.logWarning(
                        `${where}.backends.${j} (${backend.id}): the engine does not answer at start (${outcome.unreachable}); relays fail with BACKEND_UNAVAILABLE until it does (pocket-node check shows more)`,
                      )
                    : Effect.void,
            ),
            Effect.map((outcome) => outcome.backend),
          ),
        { concurrency: "unbounded" },
      );
      const pool = yield* makeBackendPool(spec.id, backends, served.backends, { observer });
      const allDev = served.backends.every((b) => b.kind === "dev");
      const family =
        served.model?.family ??
        (spec.kind === "text" && "modelFamily" in spec ? spec.modelFamily : undefined);
      const counter = chooseTokenCounter({
        family: family ?? served.model?.declared,
        backendTokenize: pool.capabilities.tokenize ? (text) => pool.tokenize(text) : undefined,
      });
      services.set(spec.id, {
        spec,
        tiers,
        capabilities: pool.capabilities,
        tokens: allDev ? { ...counter, kind: "dev" } : counter,
        declaredModel: {
          declared: served.model?.declared ?? (allDev ? "pocket-ai-dev-ngram" : spec.id),
          family,
          quantization: served.model?.quantization ?? "none",
        },
      });
      pools.set(spec.id, pool);
    }
    return { services, pools };
  });
}

/** The served services and their backend pools, for the node's lifetime (pools close with it). */
export class BackendPools extends Context.Tag("node/BackendPools")<
  BackendPools,
  { readonly services: ReadonlyMap<string, ServedService>; readonly pools: ReadonlyMap<string, BackendPool> }
>() {
  static readonly layer = Layer.scoped(
    BackendPools,
    Effect.gen(function* () {
      const { config, catalog } = yield* NodeSettings;
      const metrics = yield* Metrics;
      const clock = yield* NodeClock;
      return yield* buildServedServices(
        config,
        catalog,
        {
          onCall: (backendId, operation, seconds, outcome) =>
            metrics.backendSeconds.observe({ backend: backendId, operation, outcome }, seconds),
        },
        clock.now,
      ).pipe(Effect.mapError((e) => new NodeStartError({ code: e.code, reason: e.reason })));
    }),
  );
}
