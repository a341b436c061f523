import { formatPokt } from "@pocket-ai/protocol";
import { proofDeadline } from "./claim-expiry.js";
import type { ClaimRow } from "./claim-store.js";

/** The statuses a stored claim can have. */
export const CLAIM_STATUSES = ["claimed", "proven", "rejected"] as const;

/** The most claims one listing returns. */
export const MAX_CLAIMS_LISTED = 10_000;

/** An ISO week's id, as settlement names weeks (`2026-W48`). */
export const WEEK_ID_PATTERN = /^[0-9]{4}-W[0-9]{2}$/;

/** A stored claim as the admin API shows it (amounts as decimal strings). */
export interface ClaimRecord {
  readonly sessionId: string;
  readonly nodeAddress: string;
  readonly serviceId: string;
  readonly applicationAddress: string;
  readonly sessionNumber: number;
  readonly sessionEnd: number;
  readonly root: string;
  /** What the node claimed. */
  readonly relays: number;
  readonly computeUnits: string;
  /** What a proven claim was paid for: at most what this gateway verified (null until settled). */
  readonly paidRelays: number | null;
  readonly paidComputeUnits: string | null;
  readonly leafIndex: number;
  readonly status: (typeof CLAIM_STATUSES)[number];
  readonly weekId: string;
  readonly rateMicroUsdPerPokt: number;
  readonly mintedUpokt: string;
  readonly mintedPokt: string;
  readonly detail: string | null;
  readonly claimedAt: number;
  /** Until when the node may prove a `claimed` claim (extended by the gateway's downtime, if any). */
  readonly proofDeadline: number;
  readonly settledAt: number | null;
}

export function toClaimRecord(row: ClaimRow, proofWindowMs: number): ClaimRecord {
  return {
    sessionId: row.sessionId,
    nodeAddress: row.nodeAddress,
    serviceId: row.serviceId,
    applicationAddress: row.applicationAddress,
    sessionNumber: row.sessionNumber,
    sessionEnd: row.sessionEnd,
    root: row.root,
    relays: row.relayCount,
    computeUnits: row.computeUnits,
    paidRelays: row.paidRelays,
    paidComputeUnits: row.paidComputeUnits,
    leafIndex: row.leafIndex,
    status: row.status,
    weekId: row.weekId,
    rateMicroUsdPerPokt: row.rateMicroUsdPerPokt,
    mintedUpokt: row.mintedUpokt,
    mintedPokt: formatPokt(BigInt(row.mintedUpokt)),
    detail: row.detail,
    claimedAt: row.claimedAt,
    proofDeadline: proofDeadline(row, proofWindowMs),
    settledAt: row.settledAt,
  };
}
