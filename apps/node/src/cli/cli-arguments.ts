import { parseArgs } from "node:util";

export const USAGE = `pocket-node — serve AI relays from your hardware

Usage:
  pocket-node start [--config node.yaml]     start the node (Ctrl-C drains and stops)
  pocket-node check [--config node.yaml]     probe every backend and print what it really supports
  pocket-node keys generate --out FILE       create a signing key (never overwrites) and print its address

Config: YAML or JSON (see apps/node/node.example.yaml). Any field can be overridden from the
environment: POCKET_NODE__LISTEN__PORT=9000, POCKET_NODE__PRIVATE_KEY=..., and so on.
The config path can also come from POCKET_NODE_CONFIG.`;

export type Command =
  | { readonly name: "start" | "check"; readonly config: string | undefined }
  | { readonly name: "keys generate"; readonly out: string };

/**
 * What the command line asks for: the usage text, a usage error (`text` is what to print on stderr,
 * exit status 2), or a command.
 */
export type CliRequest =
  | { readonly kind: "help" }
  | { readonly kind: "usage-error"; readonly text: string }
  | { readonly kind: "command"; readonly command: Command };

/** Reads `argv` (without node and the script) without touching the config or the environment. */
export function parseCli(argv: readonly string[]): CliRequest {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (e) {
    // An unknown or incomplete option: what was wrong, and the usage, never a stack trace.
    return {
      kind: "usage-error",
      text: `${(e as Error).message.split(". ")[0]}. Settings come from the config file and the environment (POCKET_NODE__LISTEN__PORT=8545).\n\n${USAGE}`,
    };
  }
  const { positionals, values } = parsed;
  const command = positionals.join(" ");
  if (values.help === true || command === "" || command === "help") return { kind: "help" };
  if (command === "start" || command === "check")
    return { kind: "command", command: { name: command, config: values.config } };
  if (command === "keys generate") {
    if (values.out === undefined)
      return { kind: "usage-error", text: `pocket-node: keys generate needs --out FILE\n\n${USAGE}` };
    return { kind: "command", command: { name: command, out: values.out } };
  }
  return { kind: "usage-error", text: `pocket-node: unknown command "${command}"\n\n${USAGE}` };
}

function parse(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: {
      config: { type: "string", short: "c" },
      out: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
}
