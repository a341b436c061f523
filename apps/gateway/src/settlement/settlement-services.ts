import type { Settlement } from "./settlement.js";

/**
 * The settlement side's services that tRPC procedures (settlement.*, admin.settlement.*) need.
 * Widen this union as the settlement side adds services.
 */
export type SettlementServices = Settlement;
