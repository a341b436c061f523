import type { ClaimRoot, SessionParams } from "@pocket-ai/protocol";
import type { StoreRunner } from "../db/database.js";
import type { ClaimRow } from "./claim-store.js";
import type { SettlementIdentityValue, SettlementSettings } from "./settlement-config.js";

/** What the settlement steps share: the store runner, who we are, the windows. */
export interface SettlementDeps {
  readonly use: StoreRunner;
  readonly identity: SettlementIdentityValue & { readonly session: Extract<SessionParams, { mode: "time" }> };
  readonly config: SettlementSettings;
}

/** The claim root a stored claim committed to. */
export const rootOf = (row: ClaimRow): ClaimRoot => ({
  root: row.root,
  relays: row.relayCount,
  computeUnits: row.computeUnits,
});

export const sameRoot = (a: ClaimRoot, b: ClaimRoot): boolean =>
  a.root === b.root && a.relays === b.relays && a.computeUnits === b.computeUnits;

export const isoTime = (ms: number): string => new Date(ms).toISOString();
