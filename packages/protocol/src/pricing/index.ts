export {
  BEDROCK_LLAMA2_13B_PRICES,
  bedrockEquivalentMicroUsd,
  type TokenPricesPer1k,
} from "./bedrock-equivalent.js";
export { formatPokt, MICRO_USD_PER_USD, parsePokt, UPOKT_PER_POKT } from "./money.js";
export {
  type ComputeUnitsToTokensMultiplier,
  computeUnitsToTokensMultiplier,
  relaysToTokensMultiplier,
  uPoktPerRelay,
} from "./multipliers.js";
export { microUsdOfUPokt, mintForClaim, PinnedPrice, pinPrice } from "./pinned-price.js";
export { findWeeklyRate, WeeklyRate, weekIdOf, weekStartMs } from "./week-id.js";
export { assertTallyBalanced, type MintRecord, type TallyRow, weeklyTally } from "./weekly-tally.js";
