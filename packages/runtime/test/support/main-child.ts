/**
 * An app under `runMain` for run-main.test.ts: prints `ready`, and on shutdown its finalizer
 * prints `closing`, then waits for a line on stdin before it prints `closed` (so the test decides
 * when shutdown is over). The first argument is `sameSignalMs`.
 */
import { Effect } from "effect";
import { runMain } from "../../src/main/run-main.js";

runMain(
  Effect.scoped(
    Effect.gen(function* () {
      yield* Effect.addFinalizer(() =>
        Effect.promise(async () => {
          process.stdout.write("closing\n");
          await new Promise((resolve) => process.stdin.once("data", resolve));
          process.stdout.write("closed\n");
        }),
      );
      process.stdout.write("ready\n");
      return yield* Effect.never;
    }),
  ),
  { app: "child", sameSignalMs: Number(process.argv[2]) },
);
