import type { ErrorCode } from "@pocket-ai/protocol";
import { Data } from "effect";

/** The key's requests-per-minute or tokens-per-minute window is full. */
export class RateLimited extends Data.TaggedError("RateLimited")<{
  readonly keyId: string;
  readonly limit: "rpm" | "tpm";
  /** When enough of the window will have expired for this request to fit. */
  readonly retryAfterMs: number;
  readonly detail: string;
}> {
  readonly code: ErrorCode = "RATE_LIMITED";
  override get message(): string {
    return this.detail;
  }
}

/** Reserving this relay's cost would take the key past its budget. */
export class BudgetExhausted extends Data.TaggedError("BudgetExhausted")<{
  readonly keyId: string;
  readonly costMicroUsd: number;
}> {
  readonly code: ErrorCode = "BUDGET_EXHAUSTED";
  override get message(): string {
    return `The key ${this.keyId} has less than ${this.costMicroUsd} micro-USD of budget left`;
  }
}
