import * as OtlpSerialization from "@effect/opentelemetry/OtlpSerialization";
import * as OtlpTracer from "@effect/opentelemetry/OtlpTracer";
import * as FetchHttpClient from "@effect/platform/FetchHttpClient";
import { Duration, Layer } from "effect";
import { z } from "zod";
import { spanExporterRunning } from "./spanned.js";

/**
 * Where an app sends its `Effect.fn` spans: an OTLP/HTTP collector's base URL (spans go to
 * `<url>/v1/traces` as JSON). Absent (the default): spans are not exported. Spans carry span names,
 * timings and status only — never request bodies.
 */
export const TelemetryConfig = z
  .object({
    otlpEndpoint: z.url().optional(),
    /** Overrides the service name reported with every span (defaults to the app's name). */
    serviceName: z.string().min(1).optional(),
  })
  .strict();
export type TelemetryConfig = z.infer<typeof TelemetryConfig>;

/**
 * The tracing layer for an app: exports spans to the configured OTLP endpoint in batches, and
 * flushes on shutdown. With no endpoint configured, spans would go nowhere: the tracer is turned
 * off, so each span is a no-op (no clock reads, attributes or span objects per request), and the
 * hot path's spans (`spannedFn`, `spanned`) are not entered at all.
 */
export function tracingLayer(
  config: TelemetryConfig | undefined,
  app: string,
  options: { readonly exportInterval?: Duration.DurationInput } = {},
): Layer.Layer<never> {
  const endpoint = config?.otlpEndpoint;
  if (endpoint === undefined) return Layer.setTracerEnabled(false);
  return OtlpTracer.layer({
    url: `${endpoint.replace(/\/+$/, "")}/v1/traces`,
    resource: { serviceName: config?.serviceName ?? app },
    exportInterval: options.exportInterval ?? Duration.seconds(5),
    shutdownTimeout: Duration.seconds(3),
  }).pipe(
    Layer.provide(OtlpSerialization.layerJson),
    Layer.provide(FetchHttpClient.layer),
    Layer.merge(spanExporterRunning),
  );
}
