#!/usr/bin/env -S npx tsx
import { existsSync } from "node:fs";
import { generatePrivateKey, keyPairFromPrivateKey } from "@pocket-ai/protocol";
import { runMain } from "@pocket-ai/runtime";
import { Console, Effect } from "effect";
import { ADMIN_USAGE, runAdminCommand } from "./app/admin-cli.js";
import { startGateway } from "./app/gateway-app.js";
import { writeGatewayKeyFile } from "./config/gateway-key-file.js";
import { loadGatewayConfig } from "./config/load-gateway-config.js";
import { runSettlementCommand, SETTLEMENT_USAGE } from "./settlement/settlement-cli.js";

const usage = `pocket-gateway — sell AI relays to applications through the OpenAI API

Usage:
  pocket-gateway start [--config gateway.yaml]   start the gateway (Ctrl-C drains and stops)
  pocket-gateway keys generate --out FILE        create a signing key (never overwrites) and print its address
  pocket-gateway admin …                         applications, API keys, usage (see below)
  pocket-gateway tally | rates | claims …        weekly settlement (see below)

Admin and settlement commands call a running gateway's admin API: --url (default: the config's
listen address, or POCKET_GATEWAY_URL) with the admin token (config adminToken, or
POCKET_GATEWAY__ADMIN_TOKEN).

${ADMIN_USAGE}

${SETTLEMENT_USAGE}

Config: YAML or JSON (see apps/gateway/gateway.example.yaml). Any field can be overridden from the
environment: POCKET_GATEWAY__LISTEN__PORT=9000, POCKET_GATEWAY__ADMIN_TOKEN=..., and so on.
The config path can also come from POCKET_GATEWAY_CONFIG.`;

const argv = process.argv.slice(2);
/** `--config`/`-c`, `--url` and `--out` are the CLI's own; everything else goes to the subcommand. */
function takeOption(names: readonly string[]): string | undefined {
  const joined = argv.findIndex((a) => names.some((n) => a.startsWith(`${n}=`)));
  if (joined >= 0) {
    const [option] = argv.splice(joined, 1);
    const value = option!.slice(option!.indexOf("=") + 1);
    return value === "" ? missingValue(option!.slice(0, option!.indexOf("="))) : value;
  }
  const at = argv.findIndex((a) => names.includes(a));
  if (at < 0) return undefined;
  const [option, value] = argv.splice(at, 2);
  // A forgotten value must not start the gateway on its defaults (a new key, a fresh database) or
  // send the admin token to the default address.
  return value === undefined || value === "" || value.startsWith("-") ? missingValue(option!) : value;
}
function missingValue(option: string): never {
  console.error(
    `pocket-gateway: ${option} needs a value (${option === "--url" ? "the gateway's URL" : "a file path"})\n\n${usage}`,
  );
  process.exit(2);
}
const configOption = takeOption(["--config", "-c"]);
const urlOption = takeOption(["--url"]);
const outOption = takeOption(["--out"]);
const [command = "help", ...rest] = argv;

const configFile =
  configOption ??
  process.env.POCKET_GATEWAY_CONFIG ??
  (existsSync("gateway.yaml") ? "gateway.yaml" : undefined);
const config = loadGatewayConfig(configFile);

/** Where the admin API is and the token to call it with. */
const adminApi = Effect.gen(function* () {
  const c = yield* config;
  const host = c.listen.host === "0.0.0.0" || c.listen.host === "::" ? "127.0.0.1" : c.listen.host;
  const base = urlOption ?? process.env.POCKET_GATEWAY_URL ?? `http://${host}:${c.listen.port}`;
  const url = base.endsWith("/trpc") ? base : `${base.replace(/\/$/, "")}/trpc`;
  if (c.adminToken === undefined) {
    return yield* Effect.fail(
      new Error("no admin token: set adminToken in the config or POCKET_GATEWAY__ADMIN_TOKEN"),
    );
  }
  return { url, token: c.adminToken };
});

const print = (text: string) => Console.log(text.trimEnd());

if (command === "help" || command === "--help" || command === "-h") {
  console.log(usage);
} else if (command === "start" && rest.length > 0) {
  // Settings come from the config file and the environment: a flag here would be ignored silently.
  console.error(
    `pocket-gateway start takes only --config <file>, not ${rest.join(" ")}. Set other settings in the config file or the environment (POCKET_GATEWAY__LISTEN__PORT=9000).`,
  );
  process.exitCode = 2;
} else if (command === "start") {
  runMain(Effect.scoped(Effect.flatMap(config, (c) => Effect.zipRight(startGateway(c), Effect.never))), {
    app: "pocket-gateway",
  });
} else if (command === "admin") {
  runMain(
    Effect.flatMap(adminApi, (api) => Effect.flatMap(runAdminCommand(rest, api), print)),
    {
      app: "pocket-gateway",
    },
  );
} else if (command === "tally" || command === "rates" || command === "claims") {
  runMain(
    Effect.flatMap(adminApi, (api) =>
      Effect.flatMap(
        runSettlementCommand([command, ...rest], { adminUrl: api.url, token: api.token }),
        print,
      ),
    ),
    { app: "pocket-gateway" },
  );
} else if (command === "keys" && rest[0] === "generate") {
  if (outOption === undefined) {
    console.error("pocket-gateway: keys generate needs --out FILE");
    process.exit(2);
  }
  const key = generatePrivateKey();
  try {
    writeGatewayKeyFile(outOption, key);
  } catch (e) {
    console.error(`pocket-gateway: cannot write ${outOption}: ${(e as Error).message}`);
    process.exit(1);
  }
  console.log(`key written to ${outOption} (mode 0600)\naddress: ${keyPairFromPrivateKey(key).address}`);
} else {
  console.error(`pocket-gateway: unknown command "${[command, ...rest].join(" ")}"\n\n${usage}`);
  process.exit(2);
}
