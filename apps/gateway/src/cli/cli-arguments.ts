import { USAGE } from "./command-usage.js";

/** The options the CLI takes itself, whatever the command; every other argument is the command's. */
export interface CliOptions {
  readonly config?: string | undefined;
  readonly url?: string | undefined;
  readonly out?: string | undefined;
  /** `--insecure`: send the admin token over plain http to a host other than this machine. */
  readonly insecure?: boolean | undefined;
}

/** A command that needs the app (or the admin client); `args` are its own, after its name. */
export type Command =
  | { readonly name: "start" }
  | { readonly name: "admin"; readonly args: readonly string[] }
  | { readonly name: "tally" | "rates" | "claims"; readonly args: readonly string[] }
  | { readonly name: "keys generate"; readonly out: string };

/**
 * What the command line asks for: the usage text, a usage error (`text` is what to print on stderr,
 * exit status 2), or a command.
 */
export type CliRequest =
  | { readonly kind: "help" }
  | { readonly kind: "usage-error"; readonly text: string }
  | { readonly kind: "command"; readonly command: Command; readonly options: CliOptions };

class UsageError {
  constructor(readonly text: string) {}
}

/** Reads `argv` (without node and the script) without touching the config or the environment. */
export function parseCli(argv: readonly string[]): CliRequest {
  const rest = [...argv];
  let options: CliOptions;
  try {
    options = {
      config: takeOption(rest, ["--config", "-c"]),
      url: takeOption(rest, ["--url"]),
      out: takeOption(rest, ["--out"]),
      insecure: takeFlag(rest, "--insecure"),
    };
  } catch (e) {
    if (e instanceof UsageError) return { kind: "usage-error", text: e.text };
    throw e;
  }
  const [command = "help", ...args] = rest;
  if (command === "help" || command === "--help" || command === "-h") return { kind: "help" };
  if (command === "start") {
    // Settings come from the config file and the environment: a flag here would be ignored silently.
    if (args.length > 0)
      return {
        kind: "usage-error",
        text: `pocket-gateway start takes only --config <file>, not ${args.join(" ")}. Set other settings in the config file or the environment (POCKET_GATEWAY__LISTEN__PORT=9000).\n\n${USAGE}`,
      };
    return { kind: "command", command: { name: "start" }, options };
  }
  if (command === "admin" || command === "tally" || command === "rates" || command === "claims")
    return { kind: "command", command: { name: command, args }, options };
  if (command === "keys" && args[0] === "generate") {
    if (options.out === undefined)
      return { kind: "usage-error", text: `pocket-gateway: keys generate needs --out FILE\n\n${USAGE}` };
    return { kind: "command", command: { name: "keys generate", out: options.out }, options };
  }
  return {
    kind: "usage-error",
    text: `pocket-gateway: unknown command "${[command, ...args].join(" ")}"\n\n${USAGE}`,
  };
}

/** Takes a flag without a value out of `argv`: whether it was there. */
function takeFlag(argv: string[], name: string): boolean {
  const at = argv.indexOf(name);
  if (at < 0) return false;
  argv.splice(at, 1);
  return true;
}

/** Takes `--name value` or `--name=value` out of `argv`; undefined when absent. */
function takeOption(argv: string[], names: readonly string[]): string | undefined {
  const joined = argv.findIndex((a) => names.some((n) => a.startsWith(`${n}=`)));
  if (joined >= 0) {
    const [option = ""] = argv.splice(joined, 1);
    const value = option.slice(option.indexOf("=") + 1);
    return value === "" ? missingValue(option.slice(0, option.indexOf("="))) : value;
  }
  const at = argv.findIndex((a) => names.includes(a));
  if (at < 0) return undefined;
  const [option = "", value] = argv.splice(at, 2);
  // A forgotten value must not start the gateway on its defaults (a new key, a fresh database) or
  // send the admin token to the default address.
  return value === undefined || value === "" || value.startsWith("-") ? missingValue(option) : value;
}

function missingValue(option: string): never {
  throw new UsageError(
    `pocket-gateway: ${option} needs a value (${option === "--url" ? "the gateway's URL" : "a file path"})\n\n${USAGE}`,
  );
}
