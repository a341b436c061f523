import { type ErrorCode, ErrorCodes } from "@pocket-ai/protocol";
import { Data } from "effect";

/** A portal request refused with a stable code; `detail` says what exactly, for the person reading it. */
export class PortalRefused extends Data.TaggedError("PortalRefused")<{
  readonly code: ErrorCode;
  readonly detail?: string | undefined;
  /** Which form field it is about, to show the message beside it. */
  readonly field?: string | undefined;
}> {
  get status(): number {
    return ErrorCodes[this.code].status;
  }
  override get message(): string {
    return this.detail ?? ErrorCodes[this.code].message;
  }
}

export const refuse = (code: ErrorCode, detail?: string, field?: string) =>
  new PortalRefused({ code, detail, field });
