import { existsSync } from "node:fs";
import { checkPortFree, loadConfig, lockDataDir, runMain, StartFailure } from "@pocket-ai/runtime";
import { Effect } from "effect";
import { currentBoard, evaluatorLayer, runRound, serveBoard, startEvaluator } from "../app/evaluator-app.js";
import { EvaluatorConfig } from "../config/evaluator-config.js";
import { EvaluatorConfigError } from "../errors.js";
import { boardTable } from "./board-table.js";
import type { CliValues, Command } from "./cli-arguments.js";
import { progressBar } from "./progress-bar.js";

/** Runs one of the CLI's commands with its checked arguments, under `runMain` (see `cli.ts`). */
export function runCommand(command: Command, values: CliValues): void {
  const program = Effect.gen(function* () {
    const loaded = yield* loadConfig({
      schema: EvaluatorConfig,
      file:
        values.config ??
        process.env.POCKET_EVALUATOR_CONFIG ??
        (existsSync("evaluator.yaml") ? "evaluator.yaml" : undefined),
      envPrefix: "POCKET_EVALUATOR",
    });
    const config = values.tasks === undefined ? loaded : { ...loaded, tasks: [...values.tasks] };
    // One evaluator writes a data folder: two would send every probe twice and race on the same runs.
    const lock = lockDataDir(config.dataDir, "pocket-evaluator");
    const portFree = checkPortFree({ ...config.listen, portSetting: "listen.port" });
    switch (command) {
      case "run": {
        if (config.nodes.length === 0)
          return yield* new EvaluatorConfigError({
            problems: ["no nodes are configured: list the nodes to evaluate under `nodes:` in the config"],
          });
        const chosen =
          values.all === true || values.node === undefined
            ? config.nodes
            : config.nodes.filter((n) => values.node?.includes(n.address));
        if (chosen.length === 0)
          return yield* new StartFailure({
            code: "UNKNOWN_NODE",
            reason: `no configured node matches --node ${values.node?.join(", ")}; the config lists ${config.nodes.map((n) => n.address).join(", ")}`,
          });
        const round = Effect.gen(function* () {
          yield* runRound(config, chosen, (node) => progressBar(`${node.address.slice(0, 14)}…`));
          return yield* currentBoard(config);
        }).pipe(Effect.provide(evaluatorLayer(config)));
        const board = yield* Effect.scoped(Effect.zipRight(lock, round));
        process.stdout.write(`${boardTable(board)}\n`);
        return;
      }
      case "leaderboard": {
        const board = yield* currentBoard(config).pipe(Effect.provide(evaluatorLayer(config)));
        process.stdout.write(`${boardTable(board)}\n`);
        return;
      }
      case "serve":
        yield* portFree;
        return yield* Effect.gen(function* () {
          const server = yield* serveBoard(config);
          process.stderr.write(`leaderboard at ${server.url}/ (tRPC at ${server.url}/trpc/scores.board)\n`);
          return yield* Effect.never;
        }).pipe(Effect.scoped, Effect.provide(evaluatorLayer(config)));
      case "start":
        yield* portFree;
        return yield* Effect.scoped(Effect.zipRight(lock, startEvaluator(config)));
    }
  });

  runMain(program, { app: "pocket-evaluator" });
}
