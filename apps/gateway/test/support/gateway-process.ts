import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll } from "vitest";
import { POCKET_GATEWAY_COMMAND } from "./command-bundle.js";
import { LIVE_ADMIN_TOKEN } from "./live-network.js";

const GATEWAY_APP = fileURLToPath(new URL("../..", import.meta.url));

/**
 * Starts `pocket-gateway start --config FILE` as a child process (as operators run it) and
 * resolves with its URL once it listens. Pushes the child to `children` so the test can kill it.
 */
export function spawnGateway(
  configFile: string,
  children: ChildProcess[],
  env: Record<string, string> = {},
): Promise<{ child: ChildProcess; url: string; log: string[] }> {
  const child = spawn(process.execPath, [POCKET_GATEWAY_COMMAND, "start", "--config", configFile], {
    cwd: GATEWAY_APP,
    stdio: ["ignore", "ignore", "pipe"],
    env: { ...process.env, ...env },
  });
  children.push(child);
  return new Promise((resolve, reject) => {
    let pending = "";
    let errors = "";
    /** The process's log lines after it started (warnings and errors, for a failing test to show). */
    const log: string[] = [];
    child.stderr!.setEncoding("utf8");
    child.stderr!.on("data", (text: string) => {
      pending += text;
      const lines = pending.split("\n");
      pending = lines.pop() ?? "";
      for (const line of lines) {
        const url = /"msg":"gateway started".*"url":"([^"]+)"/.exec(line)?.[1];
        if (url !== undefined) resolve({ child, url, log });
        else {
          errors += `${line}\n`;
          if (log.length < 200) log.push(line);
        }
      }
    });
    child.on("exit", (code) =>
      reject(
        new Error(`the gateway exited (${code}) before it listened: ${(errors + pending).slice(-2000)}`),
      ),
    );
  });
}

/** Kills every child still running (SIGKILL: tests end them, nothing to drain). */
export function killAll(children: readonly ChildProcess[]): void {
  for (const child of children)
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
}

/**
 * What a test file of gateway processes holds: a temporary folder, the children it started and the
 * stops of in-process parts (nodes). After the file's tests, the children are killed, the stops run
 * and the folder is removed.
 */
export function processScope(prefix: string): {
  readonly dir: string;
  readonly children: ChildProcess[];
  readonly stops: Array<() => Promise<void>>;
} {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const children: ChildProcess[] = [];
  const stops: Array<() => Promise<void>> = [];
  afterAll(async () => {
    killAll(children);
    for (const stop of stops) await stop();
    rmSync(dir, { recursive: true, force: true });
  });
  return { dir, children, stops };
}

/**
 * Gateway processes on one database, as replicas run: one config file each in the scope's folder,
 * the same key and session, the admin token of the live network, routing that suits a loaded test
 * machine (long timeouts, no hedges), and the database from the environment, as a deployment
 * passes its secret. `configs[i]` adds to replica i's config; one replica per entry.
 */
export async function spawnReplicas(
  scope: { readonly dir: string; readonly children: ChildProcess[] },
  options: {
    readonly databaseUrl: string;
    readonly privateKeyHex: string;
    readonly session: unknown;
    readonly configs: readonly Record<string, unknown>[];
  },
): Promise<Array<{ child: ChildProcess; url: string; log: string[] }>> {
  const replicas: Array<{ child: ChildProcess; url: string; log: string[] }> = [];
  for (const [i, extra] of options.configs.entries()) {
    const configFile = join(scope.dir, `gateway-${i}.json`);
    writeFileSync(
      configFile,
      JSON.stringify({
        listen: { host: "127.0.0.1", port: 0 },
        dataDir: join(scope.dir, `gateway-${i}`),
        privateKey: options.privateKeyHex,
        adminToken: LIVE_ADMIN_TOKEN,
        routing: {
          session: options.session,
          healthCheckMs: 60_000,
          hedge: { enabled: false },
          timeouts: { "*:standard": 120_000 },
          // The test nodes listen on loopback.
          allowPrivateEndpoints: true,
        },
        logLevel: "info",
        ...extra,
      }),
    );
    replicas.push(
      await spawnGateway(configFile, scope.children, { POCKET_DATABASE_URL: options.databaseUrl }),
    );
  }
  return replicas;
}

/** A counter's values by its `outcome` label, from a gateway's `/metrics`. */
export async function outcomeCounts(url: string, metric: string): Promise<Record<string, number>> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const counts: Record<string, number> = {};
  const line = new RegExp(`^${metric}\\{outcome="(\\w+)"\\} (\\d+)$`, "gm");
  for (const m of text.matchAll(line)) counts[m[1]!] = Number(m[2]);
  return counts;
}
