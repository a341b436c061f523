import { createHash, timingSafeEqual } from "node:crypto";
import type { ErrorCode } from "@pocket-ai/protocol";
import { Context, Data, Effect, Layer, Redacted } from "effect";

/** The admin token is missing or wrong (or the admin API has no token configured). */
export class AdminUnauthorized extends Data.TaggedError("AdminUnauthorized")<{ readonly reason?: string }> {
  readonly code: ErrorCode = "ADMIN_UNAUTHORIZED";
  override get message(): string {
    return "The admin token is missing or wrong";
  }
}

const digest = (s: string) => createHash("sha256").update(s, "utf8").digest();

/**
 * Checks the operator's admin token. Both sides are hashed to 32 bytes first, so the comparison
 * is constant-time whatever the lengths and leaks neither the token nor its length. With no token
 * configured every request is refused: the admin API is off, never open.
 */
export class AdminAuth extends Context.Tag("gateway/AdminAuth")<
  AdminAuth,
  { readonly verify: (presented: string | undefined) => Effect.Effect<void, AdminUnauthorized> }
>() {
  static layer(token: Redacted.Redacted<string> | undefined) {
    const expected =
      token === undefined || Redacted.value(token) === "" ? undefined : digest(Redacted.value(token));
    return Layer.succeed(AdminAuth, {
      verify: Effect.fn("AdminAuth.verify")(function* (presented: string | undefined) {
        if (expected === undefined) return yield* new AdminUnauthorized({ reason: "admin API disabled" });
        if (presented === undefined) return yield* new AdminUnauthorized({ reason: "no token" });
        if (!timingSafeEqual(digest(presented), expected))
          return yield* new AdminUnauthorized({ reason: "wrong token" });
      }),
    });
  }
}
