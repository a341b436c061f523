import { type ChildProcess, spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { onTestFinished } from "vitest";
import { POCKET_NODE_COMMAND } from "./command-bundle.js";

const appDir = fileURLToPath(new URL("../..", import.meta.url));

/**
 * Runs `pocket-node start` in a child process, as an operator would, and waits for its URL. The
 * process is killed when the calling test ends, however it ends (a timeout or failed assertion
 * included), so a failing run leaves no node behind.
 */
export async function spawnNode(
  dataDir: string,
  config: Record<string, unknown>,
): Promise<{ child: ChildProcess; url: string; stderr: () => string }> {
  const file = join(dataDir, "node.json");
  writeFileSync(file, JSON.stringify({ listen: { host: "127.0.0.1", port: 0 }, dataDir, ...config }));
  const child = spawn(process.execPath, [POCKET_NODE_COMMAND, "start", "--config", file], {
    cwd: appDir,
    stdio: ["ignore", "pipe", "pipe"],
  });
  onTestFinished(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  });
  let err = "";
  child.stderr?.on("data", (d: Buffer) => {
    err += d.toString();
  });
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`node did not start:\n${err}`)), 90_000);
    const poll = setInterval(() => {
      const match = /"msg":"node started","url":"([^"]+)"/.exec(err);
      if (match !== null) {
        clearInterval(poll);
        clearTimeout(timer);
        resolve(match[1]!);
      }
    }, 50);
    child.once("exit", (code) => {
      clearInterval(poll);
      clearTimeout(timer);
      reject(new Error(`node exited with ${code}:\n${err}`));
    });
  });
  return { child, url, stderr: () => err };
}

export function exited(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve(child.exitCode);
    child.once("exit", (code) => resolve(code));
  });
}
