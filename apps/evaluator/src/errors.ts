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
    return `Invalid task (${this.source}):\n  - ${this.problems.join("\n  - ")}`;
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
    return `Invalid evaluator configuration:\n  - ${this.problems.join("\n  - ")}`;
  }
}

export type ProbeError = ProbeFailed | ProbeTimeout;

/** The stable code of any probe or task failure, as stored with a per-item result. */
export function errorCodeOf(error: ProbeError | PromptLogprobsUnsupported): ErrorCode {
  return error.code;
}
