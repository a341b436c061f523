export { computeUnitPin, fiatRuleMint, mintOfClaim } from "./claim-mint.js";
export { type ClaimRecord, toClaimRecord } from "./claim-record.js";
export {
  ClaimWindowClosed,
  ClaimWindowNotOpen,
  DuplicateClaim,
  InvalidClaim,
  InvalidProof,
  InvalidSettlementInput,
  MalformedSettlementMessage,
  RateNotSet,
  RatePinned,
  SettlementSignatureRefused,
} from "./errors.js";
export { ClaimExpiryLive, type ClaimFilter, Settlement, SettlementLive } from "./settlement.js";
export {
  type AdminClientOptions,
  runSettlementCommand,
  SETTLEMENT_USAGE,
  SettlementCommandError,
} from "./settlement-cli.js";
export {
  MAX_RATE_MICRO_USD_PER_POKT,
  SettlementConfig,
  SettlementConfigSchema,
  SettlementIdentity,
  type SettlementIdentityValue,
  type SettlementSettings,
} from "./settlement-config.js";
export {
  type SettlementAdminRouter,
  settlementAdminRouter,
  settlementIntake,
} from "./settlement-router.js";
export type { SettlementServices } from "./settlement-services.js";
export type { TallyAmounts, TallyLine, WeeklySettlementTally } from "./settlement-tally.js";
export { formatTally, REPORT_FORMATS, type ReportFormat, tallyCsv, tallyJson } from "./tally-report.js";
export { formatUsd, parseUsd } from "./usd-amount.js";
export type { WeeklyRateRecord } from "./weekly-rates.js";
