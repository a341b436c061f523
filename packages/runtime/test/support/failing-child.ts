/**
 * An app under `runMain` that stops at once, for run-main.test.ts. The first argument picks how:
 * `defect` throws inside the program (an error whose stack names this file), `coded` fails with a
 * typed error that carries a start code but does not print it, `plain` with one that carries none.
 */
import { Effect } from "effect";
import { runMain } from "../../src/main/run-main.js";

class CodedFailure extends Error {
  readonly code = "PORT_IN_USE";
}

const programs = {
  defect: Effect.sync(() => {
    throw new RangeError("the index 7 is past the end");
  }),
  coded: Effect.fail(new CodedFailure("Port 8545 on 127.0.0.1 is already in use.")),
  plain: Effect.fail(new Error("the admin API refused the token")),
};

runMain(programs[process.argv[2] as keyof typeof programs], { app: "child" });
