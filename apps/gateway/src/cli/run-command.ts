import { existsSync } from "node:fs";
import { generatePrivateKey, keyPairFromPrivateKey } from "@pocket-ai/protocol";
import { runMain } from "@pocket-ai/runtime";
import { Console, Effect } from "effect";
import { runAdminCommand } from "../app/admin-cli.js";
import { startGateway } from "../app/gateway-app.js";
import { writeGatewayKeyFile } from "../config/gateway-key-file.js";
import { loadGatewayConfig } from "../config/load-gateway-config.js";
import { runSettlementCommand } from "../settlement/settlement-cli.js";
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
    const base = options.url ?? process.env.POCKET_GATEWAY_URL ?? `http://${host}:${c.listen.port}`;
    const url = base.endsWith("/trpc") ? base : `${base.replace(/\/$/, "")}/trpc`;
    if (c.adminToken === undefined) {
      return yield* Effect.fail(
        new Error("no admin token: set adminToken in the config or POCKET_GATEWAY__ADMIN_TOKEN"),
      );
    }
    return { url, token: c.adminToken };
  });
  const print = (text: string) => Console.log(text.trimEnd());

  const program =
    command.name === "start"
      ? Effect.scoped(Effect.flatMap(config, (c) => Effect.zipRight(startGateway(c), Effect.never)))
      : command.name === "admin"
        ? Effect.flatMap(adminApi, (api) => Effect.flatMap(runAdminCommand(command.args, api), print))
        : Effect.flatMap(adminApi, (api) =>
            Effect.flatMap(
              runSettlementCommand([command.name, ...command.args], { adminUrl: api.url, token: api.token }),
              print,
            ),
          );
  runMain(program, { app: "pocket-gateway" });
}

function generateKey(out: string): void {
  const key = generatePrivateKey();
  try {
    writeGatewayKeyFile(out, key);
  } catch (e) {
    console.error(`pocket-gateway: cannot write ${out}: ${(e as Error).message}`);
    process.exit(1);
  }
  console.log(`key written to ${out} (mode 0600)\naddress: ${keyPairFromPrivateKey(key).address}`);
}
