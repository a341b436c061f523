import { existsSync } from "node:fs";
import { parseArgs } from "node:util";
import { loadConfig, runMain } from "@pocket-ai/runtime";
import { Effect } from "effect";
import { currentBoard, evaluatorLayer, runRound, serveBoard, startEvaluator } from "./app/evaluator-app.js";
import { boardTable } from "./cli/board-table.js";
import { progressBar } from "./cli/progress-bar.js";
import { EvaluatorConfig } from "./config/evaluator-config.js";

const USAGE = `pocket-evaluator <command> [--config evaluator.yaml]

  run [--node <pokt1…>] [--all] [--tasks file.yaml …]   evaluate one node (or all) and print the board
  leaderboard                                            print the leaderboard as a table
  serve                                                  serve the leaderboard page and tRPC scores.board
  start                                                  serve, and run a round over all nodes on a schedule

Environment overrides: POCKET_EVALUATOR__GATEWAY__API_KEY=… (see README).`;

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: {
    config: { type: "string" },
    node: { type: "string", multiple: true },
    all: { type: "boolean" },
    tasks: { type: "string", multiple: true },
    help: { type: "boolean" },
  },
});
const command = positionals[0];
if (values.help === true || command === undefined) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(command === undefined && values.help !== true ? 1 : 0);
}

const program = Effect.gen(function* () {
  const loaded = yield* loadConfig({
    schema: EvaluatorConfig,
    file:
      values.config ??
      process.env.POCKET_EVALUATOR_CONFIG ??
      (existsSync("evaluator.yaml") ? "evaluator.yaml" : undefined),
    envPrefix: "POCKET_EVALUATOR",
  });
  const config = values.tasks === undefined ? loaded : { ...loaded, tasks: values.tasks };
  switch (command) {
    case "run": {
      const chosen =
        values.all === true || values.node === undefined
          ? config.nodes
          : config.nodes.filter((n) => values.node?.includes(n.address));
      if (chosen.length === 0) return yield* Effect.fail(new Error("no configured node matches --node"));
      const board = yield* Effect.gen(function* () {
        yield* runRound(config, chosen, (node) => progressBar(`${node.address.slice(0, 14)}…`));
        return yield* currentBoard(config);
      }).pipe(Effect.provide(evaluatorLayer(config)));
      process.stdout.write(`${boardTable(board)}\n`);
      return;
    }
    case "leaderboard": {
      const board = yield* currentBoard(config).pipe(Effect.provide(evaluatorLayer(config)));
      process.stdout.write(`${boardTable(board)}\n`);
      return;
    }
    case "serve":
      return yield* Effect.gen(function* () {
        const server = yield* serveBoard(config);
        process.stderr.write(`leaderboard at ${server.url}/ (tRPC at ${server.url}/trpc/scores.board)\n`);
        return yield* Effect.never;
      }).pipe(Effect.scoped, Effect.provide(evaluatorLayer(config)));
    case "start":
      return yield* startEvaluator(config);
    default:
      return yield* Effect.fail(new Error(`unknown command '${command}'\n${USAGE}`));
  }
});

runMain(program, { app: "pocket-evaluator" });
