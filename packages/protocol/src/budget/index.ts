export { RELAY_BUDGET_VECTORS, type RelayBudgetVector } from "./budget-vectors.js";
export { DeliveredTally, type TallyBudget } from "./delivered-tally.js";
export { HeadCoveredTally } from "./head-covered-tally.js";
export {
  MAX_RELAY_CHOICES,
  type OutputCap,
  relayBudget,
  relayBudgetOfCounts,
  relayOutputCap,
  type TextRelayBudget,
} from "./relay-budget.js";
export {
  countRelayInput,
  type RelayInput,
  relayInputs,
  type TextRequestOf,
  type TokenCounter,
} from "./relay-input.js";
export { tokensAtLeast, tokensAtMost, utf8Length } from "./token-bounds.js";
