import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const child = fileURLToPath(new URL("../../test/support/main-child.ts", import.meta.url));

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
});
