import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import OpenAI from "openai";
import { afterAll, describe, expect, it } from "vitest";

/**
 * What a newcomer sees after `pnpm start`: the lines to copy (`OPENAI_BASE_URL`, `OPENAI_API_KEY`,
 * `PORTAL_URL`), each of which must work as printed; Ctrl-C then stops everything cleanly.
 */
const PRIVATE_PROMPT = "a private question about the weather in Lisbon";
let child: ChildProcess | undefined;
let output = "";

afterAll(() => {
  if (child?.exitCode === null) child.kill("SIGKILL");
  if (group !== undefined) {
    try {
      process.kill(-group, "SIGKILL");
    } catch {
      // Already gone.
    }
  }
});

/** The process group of the `pnpm run start` test, killed after it if anything is left. */
let group: number | undefined;

/** SQLite files under `dir` (recursively) whose name ends with `-wal`. */
function walFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: "utf8" }).filter((f) => f.endsWith("-wal"));
}

/**
 * Starts the local network as `command args` in the package's folder, on free ports with its
 * state in a new temporary folder and evaluation off, every line it writes (stdout and stderr)
 * passed to `said`.
 */
function startLocalnet(
  command: string,
  args: readonly string[],
  said: (text: string) => void,
  options: { readonly detached?: boolean } = {},
): { readonly process: ChildProcess; readonly dataDir: string } {
  const dataDir = mkdtempSync(join(tmpdir(), "pocket-localnet-start-"));
  const started = spawn(command, args, {
    cwd: join(import.meta.dirname, ".."),
    env: {
      ...process.env,
      POCKET_LOCALNET__DATA_DIR: dataDir,
      POCKET_LOCALNET__PORTS__GATEWAY: "0",
      POCKET_LOCALNET__PORTS__EVALUATOR: "0",
      POCKET_LOCALNET__PORTS__NODES: "[0,0,0]",
      POCKET_LOCALNET__EVALUATION__ENABLED: "false",
      POCKET_LOCALNET__LOG_LEVEL: "error",
    },
    stdio: ["ignore", "pipe", "pipe"],
    detached: options.detached ?? false,
  });
  started.stdout!.on("data", (d: Buffer) => said(d.toString()));
  started.stderr!.on("data", (d: Buffer) => said(d.toString()));
  return { process: started, dataDir };
}

const printed = (name: string) => new RegExp(`^${name}=(\\S+)$`, "m").exec(output)?.[1];

describe("pnpm start", () => {
  it("prints the API's base URL and key and the portal's URL, which work as printed, and stops on SIGINT", async () => {
    child = startLocalnet(process.execPath, ["--import", "tsx", "src/main.ts"], (text) => {
      output += text;
    }).process;
    const exited = new Promise<number | null>((resolve) => child!.once("exit", (code) => resolve(code)));
    // The lines come once the network is up; the process exiting first is a failure.
    await Promise.race([
      expect.poll(() => printed("PORTAL_URL"), { timeout: 110_000, interval: 200 }).toBeDefined(),
      exited.then((code) => {
        throw new Error(`pnpm start exited with ${code} before printing its URLs:\n${output}`);
      }),
    ]);

    const baseURL = printed("OPENAI_BASE_URL")!;
    const apiKey = printed("OPENAI_API_KEY")!;
    expect(baseURL).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/v1$/);
    expect(apiKey).toMatch(/^pai_/);
    const answer = await new OpenAI({ baseURL, apiKey, maxRetries: 0 }).chat.completions.create({
      model: "llama-2-13b",
      messages: [{ role: "user", content: PRIVATE_PROMPT }],
      max_tokens: 8,
      seed: 1,
    });
    // An answer, counted and priced; its text may be empty (a sample may end at once).
    expect(answer.choices).toHaveLength(1);
    expect(typeof answer.choices[0]?.message.content).toBe("string");
    expect(answer.usage?.prompt_tokens).toBeGreaterThan(0);

    const portal = await fetch(printed("PORTAL_URL")!);
    expect(portal.status).toBe(200);
    expect(await portal.text()).toContain("Sign up");

    child.kill("SIGINT");
    expect(await exited).toBe(0);
    // Nothing private reached the terminal: no prompt text, no stack traces.
    expect(output).not.toContain(PRIVATE_PROMPT);
    expect(output).not.toMatch(/\n\s+at .*\.ts:\d+/);
  }, 180_000);

  it("stops cleanly on a Ctrl-C to the whole process group (as a terminal sends it) right after the lines are printed", async () => {
    // Through the package's own start script, as `pnpm start` runs it, with the signal sent to
    // every process of the group at once, while the network may still be busy starting (the tiny
    // model loads after the lines): every process stops, the app through its clean shutdown.
    // pnpm itself: the script that runs these tests when there is one, else the one on the PATH.
    const execPath = process.env.npm_execpath;
    const [command, prefix] =
      execPath !== undefined && /pnpm\.c?js$/.test(execPath) ? [process.execPath, [execPath]] : ["pnpm", []];
    let said = "";
    const { process: run, dataDir } = startLocalnet(
      command,
      [...prefix, "run", "--silent", "start"],
      (text) => {
        said += text;
      },
      { detached: true },
    );
    group = run.pid;
    // The pipes close when the last process holding them (the app itself) has exited.
    const closed = new Promise<void>((resolve) => run.once("close", () => resolve()));
    await expect.poll(() => /^PORTAL_URL=/m.test(said), { timeout: 110_000, interval: 50 }).toBe(true);
    process.kill(-run.pid!, "SIGINT");
    await closed;
    expect(said).toContain("localnet: SIGINT received, shutting down cleanly");
    expect(said).not.toContain("exiting now");
    expect(walFiles(dataDir)).toEqual([]);
  }, 180_000);
});
