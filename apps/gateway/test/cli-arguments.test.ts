import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { runProcess } from "@pocket-ai/runtime/testing";
import { describe, expect, it } from "vitest";
import { POCKET_GATEWAY_COMMAND } from "./support/command-bundle.js";

const GATEWAY_APP = fileURLToPath(new URL("..", import.meta.url));

describe("pocket-gateway's arguments", () => {
  it("refuses a flag start would ignore, naming it and where settings go, with no stack trace", async () => {
    const run = await runProcess(process.execPath, [POCKET_GATEWAY_COMMAND, "start", "--port", "5"], {
      cwd: GATEWAY_APP,
    });
    expect(run.status).toBe(2);
    expect(run.stderr).toContain("pocket-gateway start takes only --config <file>, not --port 5");
    expect(run.stderr).toContain("POCKET_GATEWAY__LISTEN__PORT");
    expect(run.stderr).not.toMatch(/\n\s+at /);
  });
  it.each([
    [["start", "--config"], "--config needs a value (a file path)"],
    [["start", "--config="], "--config needs a value (a file path)"],
    [["rates", "list", "--url"], "--url needs a value (the gateway's URL)"],
    [["rates", "list", "--url", "--config", "gateway.yaml"], "--url needs a value (the gateway's URL)"],
    [["keys", "generate", "--out"], "--out needs a value (a file path)"],
  ])(
    "refuses %j: a forgotten value never starts on the defaults or calls the default address",
    async (args, message) => {
      const run = await runProcess(process.execPath, [POCKET_GATEWAY_COMMAND, ...args], {
        cwd: GATEWAY_APP,
        timeout: 60_000,
      });
      expect(run.status).toBe(2);
      expect(run.stderr).toContain(`pocket-gateway: ${message}`);
      expect(run.stderr).not.toMatch(/\n\s+at /);
    },
  );
  it.each([
    [["--help"], 0, "pocket-gateway start [--config gateway.yaml]"],
    [["help"], 0, "pocket-gateway admin apps create --name NAME"],
    [["start", "--port", "5"], 2, "pocket-gateway start takes only --config <file>, not --port 5"],
    [["strat"], 2, 'pocket-gateway: unknown command "strat"'],
    [["keys", "generate"], 2, "pocket-gateway: keys generate needs --out FILE"],
  ])("answers %j without loading the app, the runtime or Effect", async (args, status, said) => {
    // The hook makes importing any of them fail: a command line answered before it loads them passes.
    const run = await runProcess(
      process.execPath,
      ["--import", "tsx", "--import", "./test/support/refuse-app-import.mjs", "src/cli.ts", ...args],
      { cwd: GATEWAY_APP, timeout: 60_000 },
    );
    expect(run.stderr).not.toContain("this test refuses to load");
    expect(run.status).toBe(status);
    expect(status === 0 ? run.stdout : run.stderr).toContain(said);
    // A command line it does not take is answered with the usage too (docs/start-errors.md).
    if (status === 2) expect(run.stderr).toContain(`\n\npocket-gateway — `);
  });
  it("refuses to overwrite a key with KEY_FILE_EXISTS, and leaves the old key as it was", async () => {
    const root = mkdtempSync(join(tmpdir(), "pocket-gateway-key-"));
    try {
      const file = join(root, "gateway.key");
      writeFileSync(file, "old key\n");
      const run = await runProcess(
        process.execPath,
        [POCKET_GATEWAY_COMMAND, "keys", "generate", "--out", file],
        { cwd: GATEWAY_APP, timeout: 60_000 },
      );
      expect(run.status).toBe(1);
      expect(run.stderr).toContain(
        `pocket-gateway: KEY_FILE_EXISTS: ${file} already exists; a key is never overwritten. Choose another --out.`,
      );
      expect(readFileSync(file, "utf8")).toBe("old key\n");
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
