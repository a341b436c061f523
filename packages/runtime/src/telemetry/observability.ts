import { Effect, Layer, type Scope } from "effect";
import { redactingLoggerLayer } from "../log/effect-logger.js";
import type { Logger } from "../log/logger.js";
import { type TelemetryConfig, tracingLayer } from "./tracing.js";

/** An app's logging and tracing: `Effect.log*` through its redacting logger, spans to OTLP when configured. */
export function observabilityLayer(log: Logger, telemetry: TelemetryConfig | undefined, app: string) {
  return Layer.merge(redactingLoggerLayer(log), tracingLayer(telemetry, app));
}

/**
 * Installs an app's logging and tracing in the current fiber for the rest of the scope: every
 * runtime captured afterwards (`Effect.runtime`) logs and traces through them, and the tracer
 * flushes when the scope closes (the app's shutdown), not when startup ends.
 */
export function installObservability(
  log: Logger,
  telemetry: TelemetryConfig | undefined,
  app: string,
): Effect.Effect<void, never, Scope.Scope> {
  return Effect.asVoid(Layer.build(observabilityLayer(log, telemetry, app)));
}
