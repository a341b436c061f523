import { describe, expect, it } from "@effect/vitest";
import { Effect, Exit, Redacted } from "effect";
import { AdminAuth } from "./admin-auth.js";

const verify = (configured: string | undefined, presented: string | undefined) =>
  Effect.flatMap(AdminAuth, (auth) => auth.verify(presented)).pipe(
    Effect.provide(AdminAuth.layer(configured === undefined ? undefined : Redacted.make(configured))),
    Effect.exit,
  );

describe("AdminAuth", () => {
  it.effect("accepts exactly the configured token", () =>
    Effect.gen(function* () {
      expect(Exit.isSuccess(yield* verify("s3cret-token", "s3cret-token"))).toBe(true);
      for (const presented of [undefined, "", "s3cret-toke", "s3cret-token ", "S3CRET-TOKEN"]) {
        expect(Exit.isFailure(yield* verify("s3cret-token", presented))).toBe(true);
      }
    }),
  );

  it.effect("refuses everything when no token is configured", () =>
    Effect.gen(function* () {
      expect(Exit.isFailure(yield* verify(undefined, undefined))).toBe(true);
      expect(Exit.isFailure(yield* verify("", ""))).toBe(true);
    }),
  );
});
