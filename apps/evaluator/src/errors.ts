import type { ErrorCode } from "@pocket-ai/protocol";
import { Data } from "effect";

/**
 * The evaluator's failures, one tagged class each. Every one carries the protocol's stable code,
 * so the CLI, the logs and the stored per-item results name failures the same way everywhere.
 */

/** A probe relay failed: the gateway or node answered an error, or the body was not OpenAI-shaped. */
export class ProbeFailed extends Data.TaggedError("ProbeFailed")<{
  readonly code: ErrorCode;
  readonly status: number;
  readonly reason: string;
  /** No HTTP answer came (connection refused or reset): the gateway, not the node, was out of reach. */
  readonly unreachable?: true;
  /**
   * A refusal of the gateway's own that passes (`RATE_LIMITED`: the evaluator key's rpm or tpm
   * window is full): the `Retry-After` it gave, in milliseconds.
   */
  readonly retryAfterMs?: number;
}> {}

/** A probe did not finish within its timeout; the HTTP request was aborted. */
export class ProbeTimeout extends Data.TaggedError("ProbeTimeout")<{
  readonly timeoutMs: number;
}> {
  get code(): ErrorCode {
    return "TIMEOUT";
  }
}

/**
 * The backend returned no prompt logprobs for an `echo` + `logprobs` request (llama.cpp, Ollama):
 * loglikelihood tasks cannot run on it. Reported as such, never scored at chance.
 */
export class PromptLogprobsUnsupported extends Data.TaggedError("PromptLogprobsUnsupported")<{
  readonly reason: string;
}> {
  get code(): ErrorCode {
    return "UNSUPPORTED_PARAMETER";
  }
}

/** A task definition or dataset file is malformed; `problems` name each bad field or line. */
export class TaskFormatError extends Data.TaggedError("TaskFormatError")<{
  readonly source: string;
  readonly problems: readonly string[];
}> {
  get code(): ErrorCode {
    return "INVALID_CONFIG";
  }
  override get message(): string {
    return `INVALID_CONFIG: invalid task (${this.source}):\n  - ${this.problems.join("\n  - ")}`;
  }
}

/**
 * The configuration cannot work as asked: e.g. a quality bar no node could reach at the configured
 * item counts. `problems` say what to change.
 */
export class EvaluatorConfigError extends Data.TaggedError("EvaluatorConfigError")<{
  readonly problems: readonly string[];
}> {
  get code(): ErrorCode {
    return "INVALID_CONFIG";
  }
  override get message(): string {
    return `INVALID_CONFIG: invalid evaluator configuration:\n  - ${this.problems.join("\n  - ")}`;
  }
}

export type ProbeError = ProbeFailed | ProbeTimeout;

/** The stable code of any probe or task failure, as stored with a per-item result. */
export function errorCodeOf(error: ProbeError | PromptLogprobsUnsupported): ErrorCode {
  return error.code;
}

/**
 * The evaluator could not use the gateway at all: no HTTP answer (connection refused or reset, DNS),
 * or the gateway refused the evaluator's own key. Says nothing about any node, so nothing is
 * recorded for the probe that met it: the run stops and resumes from there on the next round.
 */
export class GatewayUnavailable extends Data.TaggedError("GatewayUnavailable")<{
  /**
   * `BACKEND_UNAVAILABLE` (no answer), `INVALID_API_KEY` (401), `PERMISSION_DENIED` (403: no role
   * `evaluator`), `BUDGET_EXHAUSTED` (402: the key's budget is spent) or `RATE_LIMITED` (429: the
   * key's rpm or tpm window stayed full after the waits its `Retry-After` asked for).
   */
  readonly code: ErrorCode;
  readonly reason: string;
}> {
  override get message(): string {
    const fix =
      this.code === "INVALID_API_KEY"
        ? "set gateway.apiKey (or POCKET_EVALUATOR__GATEWAY__API_KEY) to an application key of the gateway with role evaluator"
        : this.code === "PERMISSION_DENIED"
          ? "give the key role evaluator on the gateway (pocket-gateway admin keys create … --role evaluator)"
          : this.code === "BUDGET_EXHAUSTED"
            ? "raise the evaluator key's budget on the gateway (admin.keys.update budgetMicroUsd)"
            : this.code === "RATE_LIMITED"
              ? "raise the evaluator key's rpm and tpm on the gateway (admin.keys.update), or lower run.perNodeRatePerSecond and run.nodeConcurrency"
              : "check gateway.baseUrl and that the gateway runs";
    return `${this.code}: ${this.reason}: ${fix}. Nothing was scored; unfinished runs resume where they stopped on the next round.`;
  }
}
