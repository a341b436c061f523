import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const child = fileURLToPath(new URL("../../test/support/main-child.ts", import.meta.url));
const failingChild = fileURLToPath(new URL("../../test/support/failing-child.ts", import.meta.url));

/** Runs `failing-child.ts` in `mode` to its end: its exit status and what it wrote. */
function runFailing(mode: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const proc = spawn(process.execPath, ["--import", "tsx", failingChild, mode], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  proc.stdout.on("data", (d) => {
    stdout += String(d);
  });
  proc.stderr.on("data", (d) => {
    stderr += String(d);
  });
  return new Promise((resolve) => proc.once("close", (code) => resolve({ code, stdout, stderr })));
}

/** The app of `main-child.ts` with its output collected; `until` waits for text it printed (either stream). */
function start(sameSignalMs: number) {
  const proc: ChildProcess = spawn(process.execPath, ["--import", "tsx", child, String(sameSignalMs)], {
    stdio: ["pipe", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  const waiting: { text: string; resolve: () => void }[] = [];
  const check = () => {
    for (const w of waiting.splice(0)) {
      if (stdout.includes(w.text) || stderr.includes(w.text)) w.resolve();
      else waiting.push(w);
    }
  };
  proc.stdout?.on("data", (d) => {
    stdout += String(d);
    check();
  });
  proc.stderr?.on("data", (d) => {
    stderr += String(d);
    check();
  });
  const exited = new Promise<number | null>((resolve) => proc.once("exit", (code) => resolve(code)));
  return {
    proc,
    exited,
    out: () => stdout,
    err: () => stderr,
    until: (text: string) =>
      Promise.race([
        new Promise<void>((resolve) => {
          waiting.push({ text, resolve });
          check();
        }),
        exited.then((code) => {
          throw new Error(`the app exited (${code}) before printing ${text}: ${stderr}`);
        }),
      ]),
  };
}

describe("runMain", () => {
  it("takes two signals close together (a task runner forwarding Ctrl-C) as one, and shuts down cleanly", async () => {
    const app = start(60_000);
    await app.until("ready");
    app.proc.kill("SIGINT");
    await app.until("shutting down cleanly");
    // The runner's copy of the same Ctrl-C, handled after the first.
    app.proc.kill("SIGINT");
    await app.until("closing");
    app.proc.stdin?.write("go\n");
    expect(await app.exited).toBe(0);
    expect(app.out()).toContain("closed");
    expect(app.err()).toContain("SIGINT received, shutting down cleanly");
    expect(app.err()).not.toContain("exiting now");
  }, 60_000);

  it("exits at once on a second signal after the window, without finishing the shutdown", async () => {
    const app = start(0);
    await app.until("ready");
    app.proc.kill("SIGTERM");
    await app.until("closing");
    app.proc.kill("SIGINT");
    expect(await app.exited).toBe(130);
    expect(app.out()).not.toContain("closed");
    expect(app.err()).toContain("second SIGINT, exiting now");
  }, 60_000);

  it("prints a defect as one INTERNAL line with the error's name and message, never a stack", async () => {
    const { code, stdout, stderr } = await runFailing("defect");
    expect(code).toBe(1);
    expect(stdout).toBe("");
    expect(stderr).toMatch(/^child: INTERNAL: /);
    expect(stderr).toContain("RangeError: the index 7 is past the end");
    expect(stderr).toContain("report it");
    expect(stderr.trimEnd().split("\n")).toHaveLength(1);
    expect(stderr).not.toContain("failing-child");
    expect(stderr).not.toMatch(/\bat /);
  }, 60_000);

  it("prints a failure's start code before its message, once", async () => {
    const coded = await runFailing("coded");
    expect(coded.code).toBe(1);
    expect(coded.stderr).toBe("child: PORT_IN_USE: Port 8545 on 127.0.0.1 is already in use.\n");
    const plain = await runFailing("plain");
    expect(plain.code).toBe(1);
    expect(plain.stderr).toBe("child: the admin API refused the token\n");
  }, 60_000);
});
