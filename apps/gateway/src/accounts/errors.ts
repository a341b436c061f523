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
