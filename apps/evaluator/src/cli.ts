import { parseCli, USAGE } from "./cli/cli-arguments.js";

// The arguments are checked before the app is loaded: `--help` and a usage error answer at once.
const request = parseCli(process.argv.slice(2));
if (request.kind === "help") {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}
if (request.kind === "usage-error") {
  // What was wrong and the usage, never a stack trace; 2 as for every usage error of the apps' CLIs.
  process.stderr.write(`pocket-evaluator: ${request.message}\n\n${USAGE}\n`);
  process.exit(2);
}
const { runCommand } = await import("./cli/run-command.js");
runCommand(request.command, request.values);
