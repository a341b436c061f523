/**
 * Child process: a Pocket AI gateway as operators run it (default routing, metering and
 * settlement), on 127.0.0.1:<free port> over a temp data folder. Once it serves, it creates an
 * application and an API key through its own admin API and reports `{ url, address, apiKey }`.
 * `--rpm <n>` and `--tpm <n>` give the key rate limits (none by default), so that every relay
 * also checks and records the key's rate window. This week's and next week's POKT rates are set,
 * so the nodes' claims settle when a run outlasts a session (the soak), as on an operated gateway.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { GatewayConfig, startGateway } from "@pocket-ai/gateway";
import { weekIdOf } from "@pocket-ai/protocol";
import { Effect, Exit, Scope } from "effect";
import { onStopMessage, reportFailure, reportReady } from "./child-ipc.js";

const ADMIN_TOKEN = "bench-admin-token-0123456789";

async function admin<T>(trpcUrl: string, procedure: string, input: unknown): Promise<T> {
  const response = await fetch(`${trpcUrl}/${procedure}`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${ADMIN_TOKEN}` },
    body: JSON.stringify(input),
  });
  const body = (await response.json()) as { result?: { data: T }; error?: unknown };
  if (body.result === undefined) throw new Error(`${procedure}: ${JSON.stringify(body.error)}`);
  return body.result.data;
}

const { values } = parseArgs({ options: { rpm: { type: "string" }, tpm: { type: "string" } } });
const limit = (value: string | undefined) => (value === undefined ? null : Number(value));

async function main() {
  const dataDir = mkdtempSync(join(tmpdir(), "pocket-bench-gateway-"));
  const config = GatewayConfig.parse({
    listen: { host: "127.0.0.1", port: 0 },
    dataDir,
    adminToken: ADMIN_TOKEN,
    logLevel: "warn",
    drainMs: 2_000,
    // The benchmark's nodes listen on loopback.
    routing: { allowPrivateEndpoints: true },
  });
  const scope = Effect.runSync(Scope.make());
  const gateway = await Effect.runPromise(startGateway(config).pipe(Scope.extend(scope)));
  const app = await admin<{ id: string }>(gateway.trpcUrl, "admin.applications.create", { name: "bench" });
  const { secret } = await admin<{ secret: string }>(gateway.trpcUrl, "admin.keys.create", {
    applicationId: app.id,
    name: "bench",
    rpm: limit(values.rpm),
    tpm: limit(values.tpm),
  });
  const WEEK_MS = 7 * 24 * 3_600_000;
  for (const at of [Date.now(), Date.now() + WEEK_MS]) {
    await admin(gateway.trpcUrl, "admin.settlement.rates.set", {
      weekId: weekIdOf(at),
      rateMicroUsdPerPokt: 500_000,
    });
  }
  onStopMessage(async () => {
    await Effect.runPromise(Scope.close(scope, Exit.void));
    rmSync(dataDir, { recursive: true, force: true });
  });
  reportReady({ url: gateway.url, trpcUrl: gateway.trpcUrl, address: gateway.key.address, apiKey: secret });
}

main().catch(reportFailure);
