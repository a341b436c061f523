import { randomUUID } from "node:crypto";
import type { RelayUsage } from "@pocket-ai/protocol";
import type { MeteringRow } from "../metering/metering-writer.js";
import type { RelayRecord } from "../relay/dispatcher.js";
import type { PreparedRelay } from "./prepare-request.js";

/** Who asked, what for, and since when: the parts of a relay row known before dispatch. */
export interface RelayCaller {
  readonly applicationId: string;
  readonly keyId: string;
  readonly startedAt: number;
}

/**
 * A relay row for a relay the node answered (`ok`), or cut mid-stream (`interrupted`). The
 * service and tier are the ones the node served it under (its session's service, as claims name
 * it, and its envelope's tier); the sold ones are what the customer bought and was charged for.
 */
export function answeredRow(
  caller: RelayCaller,
  relay: PreparedRelay,
  record: RelayRecord,
  outcome: {
    readonly kind: "ok" | "interrupted";
    readonly chargedMicroUsd: number;
    readonly now: number;
    readonly ttftMs?: number | undefined;
    readonly errorCode?: string | undefined;
  },
): MeteringRow {
  // One literal with every column (no spreads): built once per relay, inside its settlement.
  return {
    applicationId: caller.applicationId,
    keyId: caller.keyId,
    tier: record.servedTierId,
    soldServiceId: relay.target.service.id,
    soldTier: relay.target.tier.id,
    operation: relay.operation,
    stream: relay.stream,
    latencyMs: Math.max(0, outcome.now - caller.startedAt),
    createdAt: caller.startedAt,
    requestHash: record.requestHash,
    serviceId: record.servedServiceId,
    nodeAddress: record.nodeAddress,
    sessionId: record.sessionId,
    sessionNumber: record.sessionNumber,
    outcome: outcome.kind,
    errorCode: outcome.errorCode ?? null,
    leafHash: record.leafHash,
    computeUnits: record.computeUnits,
    inputTokens: record.usage.inputTokens,
    outputTokens: record.usage.outputTokens,
    images: record.usage.images ?? 0,
    priceMicroUsd: outcome.chargedMicroUsd,
    attempts: record.attempts,
    // Whole milliseconds: the column is an integer (PostgreSQL refuses a fraction).
    ttftMs: outcome.ttftMs === undefined ? null : Math.round(outcome.ttftMs),
  };
}

/**
 * A relay row for a request no node answered (or the client left before an answer): no session,
 * nothing to claim; kept so usage reports show failures. Its key is a local id, not a relay hash.
 */
export function failedRow(
  caller: RelayCaller,
  relay: PreparedRelay,
  failure: {
    readonly errorCode: string;
    readonly now: number;
    readonly attempts?: number | undefined;
    readonly nodeAddress?: string | undefined;
    readonly usage?: RelayUsage | undefined;
    readonly chargedMicroUsd?: number | undefined;
    readonly interrupted?: boolean | undefined;
  },
): MeteringRow {
  return {
    ...base(caller, relay, failure.now),
    requestHash: `local-${randomUUID()}`,
    serviceId: relay.target.service.id,
    nodeAddress: failure.nodeAddress ?? null,
    sessionId: "",
    sessionNumber: 0,
    outcome: failure.interrupted === true ? "interrupted" : "error",
    errorCode: failure.errorCode,
    ...usageColumns(failure.usage ?? { inputTokens: 0, outputTokens: 0 }),
    priceMicroUsd: failure.chargedMicroUsd ?? 0,
    attempts: failure.attempts ?? 0,
  };
}

/** The row of a relay whose client left before any answer reached it: nothing charged, no node. */
export function clientClosedRow(caller: RelayCaller, relay: PreparedRelay, now: number): MeteringRow {
  return failedRow(caller, relay, { errorCode: "CLIENT_CLOSED", now });
}

/** The row of a relay the dispatcher gave up on (every node tried, or none could be). */
export function dispatchFailedRow(
  caller: RelayCaller,
  relay: PreparedRelay,
  error: { readonly code: string; readonly attempts: number; readonly nodeAddress?: string | undefined },
  now: number,
): MeteringRow {
  return failedRow(caller, relay, {
    errorCode: error.code,
    now,
    attempts: error.attempts,
    nodeAddress: error.nodeAddress,
  });
}

function base(caller: RelayCaller, relay: PreparedRelay, now: number) {
  return {
    applicationId: caller.applicationId,
    keyId: caller.keyId,
    tier: relay.target.tier.id,
    soldServiceId: relay.target.service.id,
    soldTier: relay.target.tier.id,
    operation: relay.operation,
    stream: relay.stream,
    latencyMs: Math.max(0, now - caller.startedAt),
    createdAt: caller.startedAt,
  };
}

function usageColumns(usage: RelayUsage) {
  return { inputTokens: usage.inputTokens, outputTokens: usage.outputTokens, images: usage.images ?? 0 };
}
