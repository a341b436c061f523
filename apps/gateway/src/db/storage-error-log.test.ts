import { linkErrorOf } from "@pocket-ai/link";
import { ErrorCodes } from "@pocket-ai/protocol";
import { describeCause } from "@pocket-ai/runtime";
import { Cause } from "effect";
import { describe, expect, it } from "vitest";
import { StorageError } from "./database.js";

describe("a failed statement", () => {
  const failed = new StorageError({
    operation: "cutReceipts.due",
    reason: "SQLITE_BUSY: database is locked",
    unavailable: true,
  });

  it("names its operation and the database's reason in the operator's log", () => {
    // Background loops (receipts, claim expiry, the registry's refresh) log the cause alone.
    expect(describeCause(Cause.fail(failed))).toBe(
      "StorageError: cutReceipts.due: SQLITE_BUSY: database is locked",
    );
  });

  it("tells a caller only its code's own words", () => {
    const answer = linkErrorOf(Cause.fail(failed));
    expect(answer.message).toBe(ErrorCodes.DATABASE_UNAVAILABLE.message);
    expect(answer.message).not.toContain("SQLITE");
  });
});
