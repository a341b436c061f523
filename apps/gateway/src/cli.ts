#!/usr/bin/env -S npx tsx
import { parseCli } from "./cli/cli-arguments.js";
import { USAGE } from "./cli/command-usage.js";

// The arguments are checked before the app is loaded: `--help` and a usage error answer at once.
const request = parseCli(process.argv.slice(2));
if (request.kind === "help") {
  console.log(USAGE);
  process.exit(0);
}
if (request.kind === "usage-error") {
  // What was wrong (and the usage where it helps), never a stack trace.
  console.error(request.text);
  process.exit(2);
}
const { runCommand } = await import("./cli/run-command.js");
runCommand(request.command, request.options);
