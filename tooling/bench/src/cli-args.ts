import { type ParseArgsConfig, parseArgs } from "node:util";

/**
 * The flags of a bench command: `pnpm --filter @pocket-ai/bench bench:replicas -- --seconds 5`
 * passes the `--` through, so a leading one is dropped. A flag that is not known, or one that
 * lacks its value, stops the run with the parser's message and the usage line, not a stack.
 */
export function benchFlags<O extends NonNullable<ParseArgsConfig["options"]>>(options: O, usage: string) {
  const args = process.argv.slice(2);
  try {
    return parseArgs({ args: args[0] === "--" ? args.slice(1) : args, options, strict: true }).values;
  } catch (error) {
    console.error(`${(error as Error).message}\nusage: ${usage}`);
    process.exit(2);
  }
}
