import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { POCKET_EVALUATOR_COMMAND } from "./command-bundle.js";

/** `apps/evaluator`: the CLI runs from here, as `pnpm --filter @pocket-ai/evaluator exec` runs it. */
export const EVALUATOR_APP = fileURLToPath(new URL("..", import.meta.url));

/** The environment without the caller's evaluator settings, so only the test's config counts. */
function cleanEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.startsWith("POCKET_EVALUATOR")),
  ) as NodeJS.ProcessEnv;
}

/**
 * `pocket-evaluator …` run to its end. Asynchronously: a gateway the test serves in this process
 * must go on answering meanwhile.
 */
export async function evaluatorCli(
  args: readonly string[],
): Promise<{ readonly status: number | null; readonly stdout: string; readonly stderr: string }> {
  const child = spawn(process.execPath, [POCKET_EVALUATOR_COMMAND, ...args], {
    cwd: EVALUATOR_APP,
    env: cleanEnv(),
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.push(child);
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (d) => {
    stdout += String(d);
  });
  child.stderr?.on("data", (d) => {
    stderr += String(d);
  });
  const status = await new Promise<number | null>((resolve) => child.once("close", (code) => resolve(code)));
  return { status, stdout, stderr };
}

/** `pocket-evaluator …` started in the background; `until` waits for text on stdout or stderr. */
export function startEvaluatorCli(args: readonly string[]) {
  const child: ChildProcess = spawn(process.execPath, [POCKET_EVALUATOR_COMMAND, ...args], {
    cwd: EVALUATOR_APP,
    env: cleanEnv(),
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.push(child);
  let output = "";
  const waiting: { text: string; resolve: () => void }[] = [];
  const onData = (d: Buffer) => {
    output += String(d);
    for (const w of waiting.splice(0)) (output.includes(w.text) ? w.resolve : () => waiting.push(w))();
  };
  child.stdout?.on("data", onData);
  child.stderr?.on("data", onData);
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return {
    child,
    exited,
    output: () => output,
    until: (text: string) =>
      Promise.race([
        new Promise<void>((resolve) => {
          if (output.includes(text)) resolve();
          else waiting.push({ text, resolve });
        }),
        exited.then((code) => {
          throw new Error(`the evaluator exited (${code}) before printing ${text}:\n${output}`);
        }),
      ]),
  };
}

const children: ChildProcess[] = [];
const dirs: string[] = [];

/** A temporary folder, removed (with every child process still running) after the file's tests. */
export function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "pocket-evaluator-"));
  dirs.push(dir);
  return dir;
}

/**
 * Kills the CLI processes still running and removes the temporary folders. Run after each test
 * file's tests by `reap-processes.ts` (a setup file): the test files share this module (the
 * package's tests run in one worker), so a hook registered here would run after the first file only.
 */
export function reapTestProcesses(): void {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill("SIGKILL");
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}

/** Writes `config` as the folder's `evaluator.json` and returns its path. */
export function writeConfig(dir: string, config: Record<string, unknown>): string {
  const file = join(dir, "evaluator.json");
  writeFileSync(file, JSON.stringify(config));
  return file;
}

/** A loopback port nothing listens on (it was free a moment ago). */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
