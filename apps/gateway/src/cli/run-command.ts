import { existsSync } from "node:fs";
import { generatePrivateKey, keyPairFromPrivateKey } from "@pocket-ai/protocol";
import { keyFileWriteFailure, runMain, StartFailure } from "@pocket-ai/runtime";
import { Console, Effect } from "effect";
import { insecureAdminUrl } from "../app/admin-call-failure.js";
import { AdminCommandError, runAdminCommand } from "../app/admin-cli.js";
import { writeGatewayKeyFile } from "../config/gateway-key-file.js";
import { loadGatewayConfig } from "../config/load-gateway-config.js";
import { runSettlementCommand, SettlementCommandError } from "../settlement/settlement-cli.js";
import type { CliOptions, Command } from "./cli-arguments.js";

/** Runs one of the CLI's commands with its checked arguments (see `cli.ts`). */
export function runCommand(command: Command, options: CliOptions): void {
  if (command.name === "keys generate") {
    generateKey(command.out);
    return;
  }

  const configFile =
    options.config ??
    process.env.POCKET_GATEWAY_CONFIG ??
    (existsSync("gateway.yaml") ? "gateway.yaml" : undefined);
  const config = loadGatewayConfig(configFile);

  /** Where the admin API is and the token to call it with. */
  const adminApi = Effect.gen(function* () {
    const c = yield* config;
    const host = c.listen.host === "0.0.0.0" || c.listen.host === "::" ? "127.0.0.1" : c.listen.host;
    const given = options.url ?? process.env.POCKET_GATEWAY_URL;
    const base = given ?? `http://${host}:${c.listen.port}`;
    const url = base.endsWith("/trpc") ? base : `${base.replace(/\/$/, "")}/trpc`;
    // Checked before anything is sent. The default comes from the same config as the token: the
    // gateway's own listen address, which this command runs beside.
    const insecure = given === undefined || options.insecure === true ? undefined : insecureAdminUrl(url);
    if (insecure !== undefined) return yield* new AdminCommandError({ reason: insecure, usage: false });
    if (c.adminToken === undefined) {
      return yield* new StartFailure({
        code: "INVALID_CONFIG",
        reason:
          "no admin token: set adminToken in the config or POCKET_GATEWAY__ADMIN_TOKEN in the environment of this command",
      });
    }
    return { url, token: c.adminToken };
  });
  const print = (text: string) => Console.log(text.trimEnd());

  if (command.name === "start") {
    // The app is loaded only to start it: the admin and settlement commands (HTTP clients of a
    // running gateway) answer without loading the gateway's server, storage and routing.
    const app = Effect.promise(() => import("../app/gateway-app.js"));
    runMain(
      Effect.scoped(
        Effect.flatMap(Effect.zip(config, app), ([c, { startGateway }]) =>
          Effect.zipRight(startGateway(c), Effect.never),
        ),
      ),
      { app: "pocket-gateway" },
    );
    return;
  }
  const call: Effect.Effect<string, unknown> =
    command.name === "admin"
      ? Effect.flatMap(adminApi, (api) => runAdminCommand(command.args, api))
      : Effect.flatMap(adminApi, (api) =>
          runSettlementCommand([command.name, ...command.args], { adminUrl: api.url, token: api.token }),
        );
  const program = call.pipe(Effect.flatMap(print), Effect.catchIf(isUsageError, refuseUsage));
  runMain(program, { app: "pocket-gateway" });
}

const isUsageError = (e: unknown): e is AdminCommandError | SettlementCommandError =>
  (e instanceof AdminCommandError || e instanceof SettlementCommandError) && e.usage;

/** A command line the command does not take: what was wrong and its usage, exit status 2 as for every usage error. */
function refuseUsage(e: AdminCommandError | SettlementCommandError): Effect.Effect<never> {
  return Effect.sync(() => {
    console.error(`pocket-gateway: ${e.message}`);
    process.exit(2);
  });
}

function generateKey(out: string): void {
  const key = generatePrivateKey();
  try {
    writeGatewayKeyFile(out, key);
  } catch (e) {
    console.error(`pocket-gateway: ${keyFileWriteFailure(out, e)}`);
    process.exit(1);
  }
  console.log(`key written to ${out} (mode 0600)\naddress: ${keyPairFromPrivateKey(key).address}`);
}
