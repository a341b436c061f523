import { parseArgs } from "node:util";

export const USAGE = `pocket-evaluator — score nodes through a gateway and publish the leaderboard

Usage:
  pocket-evaluator run [--node <pokt1…>]… [--all] [--tasks file.yaml]…   evaluate one node (or all) and print the board
  pocket-evaluator leaderboard                                            print the leaderboard as a table
  pocket-evaluator serve                                                  serve the leaderboard page and tRPC scores.board
  pocket-evaluator start [--tasks file.yaml]…                             serve, and run a round over all nodes on a schedule
  pocket-evaluator help                                                   this text

Every command takes --config <file> (default: POCKET_EVALUATOR_CONFIG, else ./evaluator.yaml).
Repeat --node and --tasks for several. Any config field can be overridden from the environment:
POCKET_EVALUATOR__GATEWAY__API_KEY=…, POCKET_EVALUATOR__LISTEN__PORT=8546 (see docs/evaluator.md).`;

const COMMANDS = ["run", "leaderboard", "serve", "start"] as const;
export type Command = (typeof COMMANDS)[number];

/** The options each command reads; any other is refused, never ignored. */
const TAKES: Record<Command, readonly string[]> = {
  run: ["config", "node", "all", "tasks"],
  leaderboard: ["config"],
  serve: ["config"],
  start: ["config", "tasks"],
};

export interface CliValues {
  readonly config?: string | undefined;
  readonly node?: readonly string[] | undefined;
  readonly all?: boolean | undefined;
  readonly tasks?: readonly string[] | undefined;
}

/** What the command line asks for: the usage text, a command, or a usage error (exit status 2). */
export type CliRequest =
  | { readonly kind: "help" }
  | { readonly kind: "usage-error"; readonly message: string }
  | { readonly kind: "command"; readonly command: Command; readonly values: CliValues };

const isCommand = (s: string): s is Command => (COMMANDS as readonly string[]).includes(s);

/** Reads `argv` (without node and the script) without touching the config or the environment. */
export function parseCli(argv: readonly string[]): CliRequest {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (e) {
    // parseArgs' own wording, up to its hint about `--` (which is no help here).
    const said = `${(e as Error).message.split(". ")[0]}.`;
    const unknown = (e as NodeJS.ErrnoException).code === "ERR_PARSE_ARGS_UNKNOWN_OPTION";
    return {
      kind: "usage-error",
      message: unknown
        ? `${said} Other settings come from the config file and the environment (POCKET_EVALUATOR__LISTEN__PORT=8546).`
        : said,
    };
  }
  const { positionals, values } = parsed;
  const [command, ...extra] = positionals;
  if (values.help === true || command === "help") return { kind: "help" };
  if (command === undefined) return { kind: "usage-error", message: "a command is missing." };
  if (!isCommand(command)) return { kind: "usage-error", message: `unknown command '${command}'.` };
  if (extra.length > 0)
    return {
      kind: "usage-error",
      message: `unexpected argument '${extra[0]}' (repeat the option for several values: --tasks a.yaml --tasks b.yaml).`,
    };
  const refused = Object.keys(values).filter((k) => !TAKES[command].includes(k));
  if (refused.length > 0)
    return {
      kind: "usage-error",
      message: `${command} does not take ${refused.map((k) => `--${k}`).join(", ")}.`,
    };
  return { kind: "command", command, values };
}

function parse(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: {
      config: { type: "string", short: "c" },
      node: { type: "string", multiple: true },
      all: { type: "boolean" },
      tasks: { type: "string", multiple: true },
      help: { type: "boolean", short: "h" },
    },
  });
}
