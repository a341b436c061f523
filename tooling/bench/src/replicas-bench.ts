/**
 * `pnpm --filter @pocket-ai/bench bench:replicas`: requests per second through 1, 2 and 3
 * gateway replicas on one PostgreSQL database, against one gateway on SQLite (the default), on
 * this machine, and the ratios between them. Each replica is its own `pocket-gateway start`
 * process, as operators run them, and its CPU time per request is read from `/proc`; one
 * development-backend node (in this process) serves them all, so the figures are the gateway's
 * own cost: signing, verifying, budgets and rate windows and the ledger in the database. A
 * throwaway PostgreSQL server is started (initdb + pg_ctl on loopback) and removed.
 * Flags: `--seconds <s>` per scenario (default 20), `--concurrency <n>` (default 32), `--smoke`
 * (2 s at concurrency 8: checks that every scenario runs). Nothing here gates CI.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { NodeConfig, startNode } from "@pocket-ai/node";
import { addressFromPublicKey, generatePrivateKey, publicKeyFromPrivateKey } from "@pocket-ai/protocol";
import { createLogger } from "@pocket-ai/runtime";
import { createTestDatabase, startTestPostgres } from "@pocket-ai/runtime/testing";
import { Effect, Exit, Scope } from "effect";
import { exited } from "./child-process.js";
import { benchFlags } from "./cli-args.js";
import { cpuSeconds } from "./proc-stats.js";

const values = benchFlags(
  {
    seconds: { type: "string" },
    concurrency: { type: "string" },
    smoke: { type: "boolean", default: false },
  },
  "bench:replicas [--seconds S] [--concurrency N] [--smoke]",
);
const seconds = Number(values.seconds ?? (values.smoke ? 2 : 20));
const concurrency = Number(values.concurrency ?? (values.smoke ? 8 : 32));
const ADMIN_TOKEN = "bench-admin-token-0123456789";
const quiet = createLogger({ app: "bench", level: "error" });

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

/** The gateway app's folder, where `src/cli.ts` runs under tsx as `pocket-gateway`. */
const GATEWAY_APP = fileURLToPath(new URL("../../../apps/gateway/", import.meta.url));

interface Replica {
  readonly child: ChildProcess;
  readonly url: string;
  readonly trpcUrl: string;
  readonly address: string;
}

/** Starts one replica process with `config` and resolves once it listens. */
function spawnReplica(
  dir: string,
  i: number,
  config: Record<string, unknown>,
  address: string,
): Promise<Replica> {
  const file = join(dir, `gateway-${i}.json`);
  writeFileSync(file, JSON.stringify(config));
  const child = spawn(process.execPath, ["--import", "tsx", "src/cli.ts", "start", "--config", file], {
    cwd: GATEWAY_APP,
    stdio: ["ignore", "ignore", "pipe"],
    env: { ...process.env, NODE_ENV: "production" },
  });
  return new Promise((resolve, reject) => {
    let pending = "";
    child.stderr!.setEncoding("utf8");
    child.stderr!.on("data", (text: string) => {
      pending += text;
      const url = /"msg":"gateway started".*?"url":"([^"]+)"/.exec(pending)?.[1];
      if (url !== undefined) resolve({ child, url, trpcUrl: `${url}/trpc`, address });
      if (pending.length > 100_000) pending = pending.slice(-10_000);
    });
    child.on("exit", (code) => reject(new Error(`replica ${i} exited (${code}): ${pending.slice(-2_000)}`)));
  });
}

interface Scenario {
  readonly name: string;
  readonly replicas: number;
  readonly databaseUrl?: string;
}

/** Runs one scenario: its replicas and a node, a closed loop of `concurrency` clients, round robin. */
async function run(scenario: Scenario): Promise<{ rps: number; errors: number; cpuMsPerRequest: number }> {
  const dir = mkdtempSync(join(tmpdir(), "pocket-bench-replicas-"));
  const scope = Effect.runSync(Scope.make());
  const privateKey = generatePrivateKey();
  const session = {
    mode: "time" as const,
    genesisMs: Date.now() - 1_000,
    sessionLengthMs: 3_600_000,
    graceMs: 60_000,
  };
  const gateways: Replica[] = [];
  try {
    const address = addressFromPublicKey(publicKeyFromPrivateKey(privateKey));
    for (let i = 0; i < scenario.replicas; i++) {
      const config = {
        listen: { host: "127.0.0.1", port: 0 },
        dataDir: join(dir, `gateway-${i}`),
        privateKey: Buffer.from(privateKey).toString("hex"),
        adminToken: ADMIN_TOKEN,
        // The nodes listen on loopback.
        routing: { session, healthCheckMs: 60_000, allowPrivateEndpoints: true },
        portal: { enabled: false },
        logLevel: "info",
        ...(scenario.databaseUrl === undefined ? {} : { database: { url: scenario.databaseUrl } }),
      };
      gateways.push(await spawnReplica(dir, i, config, address));
    }
    const first = gateways[0]!;
    await Effect.runPromise(
      startNode(
        NodeConfig.parse({
          listen: { host: "127.0.0.1", port: 0 },
          dataDir: join(dir, "node"),
          gateways: [{ url: first.trpcUrl, address: first.address }],
          session,
          logLevel: "error",
          services: [
            {
              serviceId: "llama-2-13b",
              tiers: ["standard"],
              backends: [{ kind: "dev", maxConcurrency: 256, maxQueue: 4_096 }],
            },
          ],
        }),
        { log: quiet, claimLoop: false },
      ).pipe(Scope.extend(scope)),
    );
    const app = await admin<{ id: string }>(first.trpcUrl, "admin.applications.create", { name: "bench" });
    const { secret } = await admin<{ secret: string }>(first.trpcUrl, "admin.keys.create", {
      applicationId: app.id,
      name: "bench",
      budgetMicroUsd: 1_000_000_000_000,
    });
    const body = JSON.stringify({ model: "llama-2-13b", prompt: "count to five", max_tokens: 5 });
    const call = async (url: string) => {
      const response = await fetch(`${url}/v1/completions`, {
        method: "POST",
        headers: { authorization: `Bearer ${secret}`, "content-type": "application/json" },
        body,
      });
      await response.arrayBuffer();
      return response.status === 200;
    };
    // Every replica serves before the clock starts (nodes reach B and C through the shared table).
    for (const g of gateways) {
      for (let i = 0; !(await call(g.url)); i++) {
        if (i > 300) throw new Error(`${scenario.name}: replica ${g.url} never served`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    let ok = 0;
    let errors = 0;
    let next = 0;
    const cpuBefore = gateways.map((g) => cpuSeconds(g.child.pid!));
    const end = performance.now() + seconds * 1_000;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (performance.now() < end) {
          const g = gateways[next++ % gateways.length]!;
          if (await call(g.url).catch(() => false)) ok++;
          else errors++;
        }
      }),
    );
    const elapsed = (performance.now() - started) / 1_000;
    const cpu = gateways.reduce((sum, g, i) => sum + cpuSeconds(g.child.pid!) - cpuBefore[i]!, 0);
    return { rps: ok / elapsed, errors, cpuMsPerRequest: (cpu * 1_000) / Math.max(1, ok + errors) };
  } finally {
    await Effect.runPromise(Scope.close(scope, Exit.void));
    for (const g of gateways) {
      g.child.kill("SIGTERM");
      await exited(g.child, 10_000).catch(() => g.child.kill("SIGKILL"));
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main() {
  const server = await startTestPostgres();
  try {
    const scenarios: Scenario[] = [{ name: "SQLite, 1 replica", replicas: 1 }];
    for (const n of [1, 2, 3]) {
      scenarios.push({
        name: `PostgreSQL, ${n} replica${n > 1 ? "s" : ""}`,
        replicas: n,
        databaseUrl: await createTestDatabase(server.url),
      });
    }
    const rows = [];
    for (const s of scenarios) {
      console.error(`[bench:replicas] ${s.name}: ${seconds} s at concurrency ${concurrency}`);
      rows.push({ ...s, ...(await run(s)) });
    }
    const base = rows[0]!.rps;
    const baseCpu = rows[0]!.cpuMsPerRequest;
    console.log(
      `\n| scenario | requests/s | vs SQLite ×1 | gateway CPU ms/request | vs SQLite ×1 | errors |\n| --- | ---: | ---: | ---: | ---: | ---: |`,
    );
    for (const r of rows) {
      console.log(
        `| ${r.name} | ${r.rps.toFixed(1)} | ${(r.rps / base).toFixed(2)} | ${r.cpuMsPerRequest.toFixed(2)} | ${(r.cpuMsPerRequest / baseCpu).toFixed(2)} | ${r.errors} |`,
      );
    }
    console.log(
      `\nOne gateway process per replica, ${concurrency} clients (round robin), ${seconds} s per scenario, ${cpus().length} cores shared by the replicas, the node, the clients and PostgreSQL: requests/s shows what the shared database costs on this machine, CPU per request what each replica spends (summed over replicas).`,
    );
    if (rows.some((r) => r.rps === 0)) process.exitCode = 1;
  } finally {
    await server.stop();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
