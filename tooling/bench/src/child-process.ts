/**
 * Starts the systems under test, each in its own process so that CPU time and memory are read
 * per process from `/proc`. Each runner is bundled into one file as operators deploy the apps
 * (`pnpm build`, `@pocket-ai/bundle`) and forked under plain `node`, with no TypeScript loader in
 * any process measured; runners answer over IPC (see `child-ipc.ts`); with `profileDir` they run
 * under `--cpu-prof`.
 */
import { type ChildProcess, fork } from "node:child_process";
import { existsSync, rmSync } from "node:fs";
import { fileURLToPath } from "node:url";

/** The scripts run as child processes, each bundled into `dist/` (see `pack-bench.ts` too). */
export const RUNNER_SCRIPTS = [
  "mock-backend.ts",
  "pocket-gateway.ts",
  "pocket-node.ts",
  "floor-hop.ts",
] as const;

/** Whether the runners' bundles are taken as they are in `dist/` (`--prebuilt`, see `pack-bench.ts`). */
let prebuilt = false;

/** Runs the bundles already in `dist/` instead of building them (a packed benchmark). */
export function usePrebuiltRunners(): void {
  prebuilt = true;
}

/** Each runner's bundle, built once per benchmark run into `dist/` (beside `src/`). */
const bundles = new Map<string, Promise<string>>();
function bundled(script: string): Promise<string> {
  let built = bundles.get(script);
  if (built === undefined) {
    // A packed benchmark's copies (`bench:pack`: migrations, native packages) would shadow the
    // workspace's own for bundles built here: a migration added since would be missing.
    if (!prebuilt && bundles.size === 0)
      rmSync(fileURLToPath(new URL("../dist/node_modules", import.meta.url)), {
        recursive: true,
        force: true,
      });
    const entry = fileURLToPath(new URL(`./${script}`, import.meta.url));
    const outfile = fileURLToPath(new URL(`../dist/${script.replace(/\.ts$/, ".mjs")}`, import.meta.url));
    built = prebuilt
      ? existsSync(outfile)
        ? Promise.resolve(outfile)
        : Promise.reject(
            new Error(`--prebuilt: ${outfile} is missing (pnpm --filter @pocket-ai/bench bench:pack)`),
          )
      : import("@pocket-ai/bundle").then(({ bundle }) => bundle({ entry, outfile })).then(() => outfile);
    bundles.set(script, built);
  }
  return built;
}

export interface Child<Info> {
  readonly name: string;
  readonly pid: number;
  readonly info: Info;
  /** CPU seconds (user + system) the child has used, from its own `process.cpuUsage()`. */
  cpuSeconds?(): Promise<number>;
  stop(): Promise<void>;
}

export interface ChildOptions {
  readonly args?: readonly string[];
  readonly profileDir?: string | undefined;
  readonly readyTimeoutMs?: number;
}

/** Resolves when `child` exits (at once if it already has). */
export function exited(child: ChildProcess, timeoutMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      resolve();
    }, timeoutMs);
    child.once("exit", () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** Bundles `src/<script>`, forks the bundle and waits for its `{ ready }` message. */
export async function startRunner<Info>(
  name: string,
  script: string,
  options: ChildOptions = {},
): Promise<Child<Info>> {
  const file = await bundled(script);
  const profile =
    options.profileDir === undefined ? [] : ["--cpu-prof", `--cpu-prof-dir=${options.profileDir}/${name}`];
  const child = fork(file, [...(options.args ?? [])], {
    execArgv: profile,
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`${name} did not start within ${options.readyTimeoutMs ?? 120_000} ms`));
    }, options.readyTimeoutMs ?? 120_000);
    child.once("exit", (code) => reject(new Error(`${name} exited with code ${code} before it was ready`)));
    child.on("message", (message: { ready?: Info; failed?: string }) => {
      if (message.failed !== undefined) reject(new Error(`${name}: ${message.failed}`));
      if (message.ready === undefined) return;
      clearTimeout(timer);
      resolve({
        name,
        pid: child.pid ?? -1,
        info: message.ready,
        cpuSeconds: () =>
          new Promise<number>((resolveCpu, rejectCpu) => {
            const onMessage = (reply: { cpu?: { user: number; system: number } }) => {
              if (reply.cpu === undefined) return;
              child.off("message", onMessage);
              resolveCpu((reply.cpu.user + reply.cpu.system) / 1e6);
            };
            child.on("message", onMessage);
            if (!child.connected) rejectCpu(new Error(`${name} is not connected`));
            else child.send("cpu");
          }),
        stop: async () => {
          if (child.connected) child.send("stop");
          else child.kill("SIGTERM");
          await exited(child, 10_000);
        },
      });
    });
  });
}
