import type { ErrorCode } from "@pocket-ai/protocol";
import { Data } from "effect";

/** Unknown, revoked, malformed or missing key, or a key of a disabled application: one answer for all. */
export class InvalidApiKey extends Data.TaggedError("InvalidApiKey")<{ readonly reason?: string }> {
  readonly code: ErrorCode = "INVALID_API_KEY";
}

export class ApplicationNotFound extends Data.TaggedError("ApplicationNotFound")<{
  readonly applicationId: string;
}> {
  readonly code: ErrorCode = "INVALID_REQUEST";
  override get message(): string {
    return `No application ${this.applicationId}`;
  }
}

/** Keys cannot be created for a disabled application. */
export class ApplicationDisabled extends Data.TaggedError("ApplicationDisabled")<{
  readonly applicationId: string;
}> {
  readonly code: ErrorCode = "INVALID_REQUEST";
  override get message(): string {
    return `The application ${this.applicationId} is disabled`;
  }
}

export class ApiKeyNotFound extends Data.TaggedError("ApiKeyNotFound")<{ readonly keyId: string }> {
  readonly code: ErrorCode = "INVALID_REQUEST";
  override get message(): string {
    return `No API key ${this.keyId}`;
  }
}

/** The application already holds the most active keys its caps allow. */
export class KeyLimitReached extends Data.TaggedError("KeyLimitReached")<{
  readonly applicationId: string;
  readonly maxActiveKeys: number;
}> {
  readonly code: ErrorCode = "KEY_LIMIT_REACHED";
  override get message(): string {
    return `The application ${this.applicationId} holds ${this.maxActiveKeys} active keys, the most allowed; revoke one first`;
  }
}

/**
 * The key's budget does not fit beside the budget the application's other keys hold (an active
 * key its budget, a revoked one what it spent).
 */
export class AccountBudgetReached extends Data.TaggedError("AccountBudgetReached")<{
  readonly applicationId: string;
  /** What the application's keys may hold together. */
  readonly maxHeldMicroUsd: number;
  /** What is left beside the other keys. */
  readonly roomMicroUsd: number;
}> {
  readonly code: ErrorCode = "ACCOUNT_BUDGET_REACHED";
  override get message(): string {
    return `The application ${this.applicationId}'s keys may hold ${this.maxHeldMicroUsd} micro-USD together; ${this.roomMicroUsd} is left`;
  }
}

/**
 * The key's budget (a new key's, or what a change adds) does not fit in what capped key changes of
 * every application together may still grant in the rolling 24 hours (`portal.keys.selfServeUsdPerDay`).
 */
export class SelfServeBudgetLimited extends Data.TaggedError("SelfServeBudgetLimited")<{
  /** What capped changes may grant in 24 hours. */
  readonly maxMicroUsd: number;
  /** What is left of it now. */
  readonly roomMicroUsd: number;
}> {
  readonly code: ErrorCode = "SELF_SERVE_BUDGET_LIMITED";
  override get message(): string {
    return `Key changes may grant ${this.maxMicroUsd} micro-USD of budget in 24 hours; ${this.roomMicroUsd} is left`;
  }
}
