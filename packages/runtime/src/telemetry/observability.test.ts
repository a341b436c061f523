import { Effect, Exit, Runtime, Scope } from "effect";
import { describe, expect, it } from "vitest";
import { createLogger } from "../log/logger.js";
import { installObservability } from "./observability.js";

describe("installObservability", () => {
  it("reaches runtimes captured after it, for the scope's lifetime", async () => {
    const lines: string[] = [];
    const log = createLogger({ app: "gateway", write: (l) => lines.push(l) });
    const scope = Effect.runSync(Scope.make());
    const runtime = await Effect.runPromise(
      Effect.zipRight(installObservability(log, undefined, "gateway"), Effect.runtime<never>()).pipe(
        Scope.extend(scope),
      ),
    );
    await Runtime.runPromise(runtime)(Effect.logWarning("later").pipe(Effect.annotateLogs({ content: "x" })));
    await Effect.runPromise(Scope.close(scope, Exit.void));
    expect(lines.map((l) => JSON.parse(l))).toEqual([
      expect.objectContaining({ app: "gateway", level: "warn", msg: "later", content: "[redacted]" }),
    ]);
  });
});
