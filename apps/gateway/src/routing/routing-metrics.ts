import type { Counter, Gauge, Histogram, MetricsRegistry } from "@pocket-ai/runtime";
import { Context, Layer } from "effect";

/** The routing side's Prometheus series, registered in the app's registry (rendered by the front door). */
export interface RoutingMetricSet {
  /** Attempts by node and outcome (`ok`, a node's error code, `INVALID_NODE_RESPONSE`, `UNREACHABLE`). */
  readonly relays: Counter;
  /** Attempts beyond the first on another node. */
  readonly retries: Counter;
  /** Second nodes started because the first was slow. */
  readonly hedges: Counter;
  /** Sanctions by reason. */
  readonly sanctions: Counter;
  /** Node answers refused and streams cut for failing the gateway's checks, by node and reason (`AnswerRefusalReasons`). */
  readonly refusedAnswers: Counter;
  /** Gateway → node latency of verified answers (TTFT for streams), by kind. */
  readonly nodeSeconds: Histogram;
  /** Receipts for streams the gateway cut short, by how their delivery ended (`settled`, `refused_<code>`, `expired`). */
  readonly cutReceipts: Counter;
  /** Those receipts waiting in the database (every replica's), as of the outbox's last pass. */
  readonly cutReceiptsPending: Gauge;
}

export function makeRoutingMetrics(registry: MetricsRegistry): RoutingMetricSet {
  return {
    relays: registry.counter("pocket_gateway_node_relays_total", "Relay attempts by node and outcome."),
    retries: registry.counter(
      "pocket_gateway_relay_retries_total",
      "Relay attempts retried on another node.",
    ),
    hedges: registry.counter(
      "pocket_gateway_relay_hedges_total",
      "Second nodes started for a slow unary relay.",
    ),
    sanctions: registry.counter(
      "pocket_gateway_node_sanctions_total",
      "Nodes sanctioned, by reason: an invalid answer, a false refusal, engine refusals far above their peers', or refusals other nodes disproved.",
    ),
    refusedAnswers: registry.counter(
      "pocket_gateway_node_refused_answers_total",
      "Node answers refused and streams cut because they failed the gateway's checks, by node and reason (BAD_SIGNATURE, SCHEMA, USAGE_OVER_LIMIT...: see the operator docs). Each is also logged as a warning, at most once per node and reason per routing.refusedAnswersLogMs.",
    ),
    nodeSeconds: registry.histogram(
      "pocket_gateway_node_latency_seconds",
      "Latency of verified node answers (time to first chunk for streams).",
    ),
    cutReceipts: registry.counter(
      "pocket_gateway_cut_receipts_total",
      "Signed receipts for streams the gateway cut short (what of them is paid work in the node's claim) and for unary relays it gave up on after sending them (nothing paid), by how their delivery ended: settled (the node's ledger row changed), unchanged (it already said so), refused (with the node's code), or expired undelivered (the session's claim may be built).",
    ),
    cutReceiptsPending: registry.gauge(
      "pocket_gateway_cut_receipts_pending",
      "Receipts waiting in the database for delivery to their nodes (every replica's), as of the last delivery pass (at most a few seconds old). Growing: a node is unreachable, or the gateway cannot reach its nodes; each expires when its session's claim may be built.",
    ),
  };
}

export class RoutingMetrics extends Context.Tag("gateway/RoutingMetrics")<
  RoutingMetrics,
  RoutingMetricSet
>() {
  static layer(registry: MetricsRegistry) {
    return Layer.sync(RoutingMetrics, () => makeRoutingMetrics(registry));
  }
}
