import { Cause, Exit } from "effect";
import type { BackendBusy, BackendError } from "../backend.js";

/** What the pool reports per call, for latency histograms (`stream` operations time the whole stream). */
export type PoolOperation =
  | "completions"
  | "chat.completions"
  | "completions.stream"
  | "chat.completions.stream"
  | "images.generations"
  | "images.edits"
  | "embeddings"
  | "tokenize";

export type CallOutcome = "ok" | "unavailable" | "timeout" | "rejected" | "busy" | "interrupted";

/**
 * Hooks for metrics: one `onCall` per backend attempt (a retried relay reports each attempt, on
 * its own backend), and `onHealthChange` when a health round flips a backend.
 */
export interface BackendObserver {
  onCall(backendId: string, operation: PoolOperation, seconds: number, outcome: CallOutcome): void;
  onHealthChange?(backendId: string, healthy: boolean): void;
}

/** The label for how a call ended; interruption (a client gone, a caller's timeout) is its own. */
export function outcomeOf(exit: Exit.Exit<unknown, BackendError | BackendBusy>): CallOutcome {
  if (Exit.isSuccess(exit)) return "ok";
  const failure = Cause.failureOption(exit.cause);
  if (failure._tag === "None") return "interrupted";
  const tags = {
    BackendUnavailable: "unavailable",
    BackendTimeout: "timeout",
    BackendRejected: "rejected",
    BackendBusy: "busy",
  } as const;
  return tags[failure.value._tag];
}
