import { Layer } from "effect";
import { Limits } from "../limits/limits.js";
import { Accounts } from "./accounts.js";

export { Accounts, type KeyPatch, type NewKey } from "./accounts.js";
export { AccountsConfig, type AccountsSettings } from "./accounts-config.js";
export { bearerToken } from "./api-key-format.js";
export { applicationKeyPair } from "./application-address.js";
export {
  AccountBudgetReached,
  ApiKeyNotFound,
  ApplicationDisabled,
  ApplicationNotFound,
  InvalidApiKey,
  KeyLimitReached,
  SelfServeBudgetLimited,
} from "./errors.js";
export type { KeyCaps } from "./key-caps.js";
export type { ApiKey, Application, AuthenticatedKey, CreatedKey, KeyLimits } from "./records.js";

/** Accounts and limits together; needs `GatewayStore` and `AccountsConfig`. */
export const AccountsLive = Layer.mergeAll(Accounts.layer, Limits.layer);
