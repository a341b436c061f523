import { join, resolve } from "node:path";
import { loadConfig, runMain } from "@pocket-ai/runtime";
import { Effect } from "effect";
import { startLocalnet } from "./localnet.js";
import { LocalnetConfig } from "./localnet-config.js";

const say = (line: string) => process.stdout.write(`${line}\n`);

runMain(
  Effect.scoped(
    Effect.gen(function* () {
      const config = yield* loadConfig({ schema: LocalnetConfig, envPrefix: "POCKET_LOCALNET" });
      // The full path: the task runner starts this in its package's folder, not where `pnpm start` ran.
      const dataDir = resolve(config.dataDir);
      say(`Pocket AI local network — state in ${dataDir}`);
      const net = yield* startLocalnet(config, { say });
      say("");
      say(`OPENAI_BASE_URL=${net.baseUrl}`);
      say(`OPENAI_API_KEY=${net.apiKey}`);
      say(`LEADERBOARD_URL=${net.leaderboardUrl}`);
      say(`PORTAL_URL=${net.portalUrl}`);
      say("");
      say("Try it:");
      say(
        `  curl -s ${net.baseUrl}/chat/completions -H "Authorization: Bearer ${net.apiKey}" -H "Content-Type: application/json" \\`,
      );
      say(
        `    -d '{"model":"llama-2-13b","messages":[{"role":"user","content":"What is the capital of France?"}],"max_tokens":20}'`,
      );
      say(
        `  A real (tiny) neural model, run by llama.cpp in node beta: the same call with "model":"pocket-tiny"`,
      );
      say("");
      say(
        `Models: ${net.baseUrl}/models · admin token in ${join(dataDir, "localnet.json")} · Ctrl-C stops everything.`,
      );
      say(
        `Portal: sign up at ${net.portalUrl}; the account ${config.portalAdmins.join(" or ")} is this network's operator (console: nodes, traffic, settlement).`,
      );
      return yield* Effect.never;
    }),
  ),
  { app: "localnet" },
);
