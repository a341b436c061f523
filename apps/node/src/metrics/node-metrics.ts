import { MetricsRegistry, watchCheckpoints } from "@pocket-ai/runtime";
import { Context, Layer } from "effect";

/** The node's Prometheus metrics: relays by service and outcome, latency, queue depth, claims. */
export function makeNodeMetrics() {
  const registry = new MetricsRegistry();
  watchCheckpoints(registry);
  return {
    registry,
    relays: registry.counter(
      "pocket_node_relays_total",
      "Relays served, by service and outcome (ok, an error code, unrecorded: its answer left but its ledger row failed, or cut: its gateway went away before the answer was whole; neither is claimed, unless the gateway's cut receipt comes)",
    ),
    engineAnswersRefused: registry.counter(
      "pocket_node_engine_answers_refused_total",
      "Engine answers (or stream pieces) the node refused to sign because the gateway would refuse them, by service and rule (the gateway's reason): the engine is at fault; each is answered BACKEND_ERROR (STREAM_INTERRUPTED once text went out)",
    ),
    cutsSettled: registry.counter(
      "pocket_node_cut_streams_settled_total",
      "Streams cut short by their client that a gateway's signed receipt put into the node's claim, by gateway",
    ),
    relaySeconds: registry.histogram(
      "pocket_node_relay_seconds",
      "Time from admission to the backend's answer",
    ),
    backendSeconds: registry.histogram(
      "pocket_node_backend_seconds",
      "Backend call latency, by backend and outcome",
    ),
    queueDepth: registry.gauge(
      "pocket_node_backend_queue_depth",
      "Relays waiting for a backend slot, by service",
    ),
    inFlight: registry.gauge("pocket_node_backend_in_flight", "Relays running on a backend, by backend"),
    unverifiedBodyBytes: registry.gauge(
      "pocket_node_unverified_body_bytes",
      "Bytes of relay bodies being received and not yet verified, held by this process (at most requests.bodyBudgetBytes; past it relays are refused NODE_BUSY)",
    ),
    bodiesRefused: registry.counter(
      "pocket_node_bodies_refused_total",
      "Request bodies refused NODE_BUSY before they were verified, by budget (relay: requests.bodyBudgetBytes; other: every other call's) and reason (full: the budget was; share: their network already held requests.bodyShareBytes of it; share48: the IPv6 /48 it is in held twice that; neverFits: the body alone was larger than that share, never taken by this node)",
    ),
    claims: registry.counter("pocket_node_claims_total", "Claims by gateway and status"),
    ledgerWriteFailures: registry.counter(
      "pocket_node_ledger_write_failures_total",
      "Relay rows the ledger failed to write (their relays are never claimed): alert on any",
    ),
    ledgerPruned: registry.counter(
      "pocket_node_ledger_pruned_total",
      "Relay rows deleted from the ledger once no claim needs them",
    ),
    inputCounts: registry.counter(
      "pocket_node_input_counts_total",
      "Text relays by how their input was counted: gateway (its signed count taken), audit (counted and compared with it), node (counted)",
    ),
    wrongCounts: registry.counter(
      "pocket_node_gateway_counts_wrong_total",
      "Audited gateway input counts that differed from the node's, by gateway",
    ),
  };
}

export type NodeMetrics = ReturnType<typeof makeNodeMetrics>;

/** The node's metrics as a service (rendered at `/metrics`). */
export class Metrics extends Context.Tag("node/Metrics")<Metrics, NodeMetrics>() {
  static readonly layer = Layer.sync(Metrics, makeNodeMetrics);
}
