import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll } from "vitest";

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
  const child = spawn(process.execPath, ["--import", "tsx", "src/cli.ts", "start", "--config", configFile], {
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
