import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const NODE_APP = fileURLToPath(new URL("..", import.meta.url));

describe("pocket-node's arguments", () => {
  it("refuses an unknown option, naming it and where settings go, with no stack trace", () => {
    const run = spawnSync(process.execPath, ["--import", "tsx", "src/cli.ts", "start", "--port", "5"], {
      cwd: NODE_APP,
      encoding: "utf8",
    });
    expect(run.status).toBe(2);
    expect(run.stderr).toContain("Unknown option '--port'. Settings come from the config file");
    expect(run.stderr).toContain("pocket-node start");
    expect(run.stderr).not.toMatch(/\n\s+at /);
  });
});
