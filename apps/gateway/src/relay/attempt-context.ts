import type { KeyPair } from "@pocket-ai/protocol";
import type { Context } from "effect";
import type { NodeRegistry } from "../registry/node-registry.js";
import type { LatencyKind } from "../routing/node-stats.js";
import type { Route } from "../routing/route-plan.js";
import type { RoutingConfig } from "../routing/routing-config.js";
import type { RoutingMetricSet } from "../routing/routing-metrics.js";
import type { Selector } from "../routing/selector.js";
import { type AttemptFailure, isCallerError, isErrorCode, type NodeRefused } from "./attempt-errors.js";
import type { DispatchRequest } from "./dispatcher.js";
import type { NodeClients } from "./node-client.js";
import type { RefusedAnswerLog } from "./refused-answers.js";

/** What one relay attempt needs: keys, settings, the selector's stats, the registry, clients, metrics. */
export interface AttemptContext {
  readonly key: KeyPair;
  readonly settings: RoutingConfig;
  readonly selector: Context.Tag.Service<Selector>;
  readonly registry: Context.Tag.Service<NodeRegistry>;
  readonly clients: Context.Tag.Service<NodeClients>;
  readonly metrics: RoutingMetricSet;
  /** The operator's record of refused answers and cut streams: counted, and logged at a bounded rate. */
  readonly refusedAnswers: RefusedAnswerLog;
  /** Wall clock for envelopes, session checks and sanctions (Effect's clock in the layer). */
  readonly now: () => number;
  /** A cut stream's ledger row and its receipt committed: the outbox delivers it now (`CutReceiptOutbox`). */
  readonly deliverCutReceipts: () => void;
  /**
   * A unary attempt this gateway gave up on after sending it (a hedge's loser, a caller gone, its
   * timeout) and records nothing of: its node may have answered all the same, and a leaf of it in
   * the node's claim is one no proof can show. A receipt of nothing tells the node to leave it out
   * (written to the outbox and delivered in the background).
   */
  readonly abandonedAttempt: (route: Route, requestHash: string) => void;
}

/** A verified answer arrived: feed latency into selection and the metrics. */
export function noteSuccess(ctx: AttemptContext, route: Route, kind: LatencyKind, latencyMs: number): void {
  ctx.selector.stats.success(route.node.address, kind, latencyMs);
  ctx.selector.engineRefusals.record(route.servedServiceId, route.node.address, false);
  ctx.metrics.relays.inc({ node: route.node.address, outcome: "ok" });
  ctx.metrics.nodeSeconds.observe({ kind }, latencyMs / 1000);
}

/** The relay an attempt served; `cut`: a stream that failed after its first byte reached the client. */
export interface AttemptOf {
  readonly route: Route;
  readonly request: DispatchRequest;
  readonly cut?: boolean;
}

/**
 * An attempt failed: believed caller errors and session rollovers are not the node's fault;
 * anything else counts against the node's error rate; an invalid answer or a lying refusal
 * sanctions it (an invalid answer is also counted by reason and logged for the operator); a
 * refused connection marks it down at once.
 */
export function noteFailure(ctx: AttemptContext, failure: AttemptFailure, of: AttemptOf): void {
  const address = failure.nodeAddress;
  ctx.metrics.relays.inc({
    node: address,
    outcome:
      failure._tag === "NodeUnreachable"
        ? failure.timedOut
          ? "TIMEOUT"
          : "UNREACHABLE"
        : failure._tag === "NodeRefused" && !isErrorCode(failure.code)
          ? "UNKNOWN_CODE"
          : failure.code,
  });
  if (isCallerError(failure)) {
    if (isUnprovenRefusal(failure)) noteEngineRefusal(ctx, failure);
    return;
  }
  if (failure._tag === "NodeRefused" && failure.blame === "session") return;
  ctx.selector.stats.failure(address);
  if (failure._tag === "InvalidNodeResponse") {
    ctx.selector.sanction(address, ctx.now(), `${failure.reason}: ${failure.detail}`);
    ctx.metrics.sanctions.inc({ reason: "invalid_response" });
    ctx.refusedAnswers.note({
      failure,
      serviceId: of.route.servedServiceId,
      tierId: of.route.servedTier.id,
      requestId: of.request.requestId,
      cut: of.cut === true,
    });
  }
  if (failure._tag === "NodeRefused" && failure.lie !== undefined) {
    // A code outside the protocol's table is the node's own text, of any length: its lie says it.
    const code = isErrorCode(failure.code) ? failure.code : "UNKNOWN_CODE";
    ctx.selector.sanction(address, ctx.now(), `${code}: ${failure.lie}`);
    ctx.metrics.sanctions.inc({ reason: "false_refusal" });
  }
  if (failure._tag === "NodeUnreachable" && !failure.timedOut)
    ctx.registry.markUnreachable(address, ctx.now());
}

/**
 * A believed engine refusal: counted for the node and service; when the node's share of them
 * stands far above its peers' it is sanctioned like a node that answers invalidly, and its count
 * starts afresh.
 */
function noteEngineRefusal(ctx: AttemptContext, failure: NodeRefused): void {
  const ledger = ctx.selector.engineRefusals;
  ledger.record(failure.serviceId ?? "", failure.nodeAddress, true);
  const outlier = ledger.outlier(failure.serviceId ?? "", failure.nodeAddress);
  if (outlier !== undefined) sanctionRefusals(ctx, failure, outlier, "engine_refusals");
}

/**
 * Another node answered what `refusal`'s node said its engine refused: counted against the
 * refusing node, and after a few such refusals it is sanctioned like a node that answers invalidly.
 */
export function noteDisprovedRefusal(ctx: AttemptContext, refusal: NodeRefused, answeredOn: Route): void {
  // A quality or skill relay's nodes may serve different models under different tiers: an answer
  // disproves a refusal only when it was served under the same service and tier (the same limits,
  // the same model's engine), as every route of a model-named relay is.
  if (answeredOn.servedServiceId !== refusal.serviceId || answeredOn.servedTier.id !== refusal.servedTierId)
    return;
  const why = ctx.selector.engineRefusals.disproved(refusal.serviceId ?? "", refusal.nodeAddress);
  if (why !== undefined) sanctionRefusals(ctx, refusal, why, "disproved_refusals");
}

/** Sanctions a node for its engine refusals; its counts for the service start afresh. */
function sanctionRefusals(ctx: AttemptContext, refusal: NodeRefused, why: string, reason: string): void {
  ctx.selector.engineRefusals.reset(refusal.serviceId ?? "", refusal.nodeAddress);
  ctx.selector.sanction(refusal.nodeAddress, ctx.now(), `ENGINE_REJECTED: ${why}`);
  ctx.metrics.sanctions.inc({ reason });
}

/**
 * A signed refusal the gateway believed on the node's word (`NodeRefused.unproven`: an engine's
 * refusal, an INPUT_TOO_LONG it could only bound): another node of the session may disprove it.
 */
export const isUnprovenRefusal = (failure: AttemptFailure): failure is NodeRefused =>
  failure._tag === "NodeRefused" && failure.unproven === true && failure.blame === "caller";
