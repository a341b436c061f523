/**
 * Starts Portkey's open-source AI gateway (`@portkey-ai/gateway` from npm, its own Node server
 * `build/start-server.js`) as a peer to compare with. It is pointed at the mock per request, with
 * `x-portkey-provider: openai` and `x-portkey-custom-host: <mock>/v1`. Its server takes a port but
 * no host, so it listens on every interface; the benchmark only sends it traffic on 127.0.0.1.
 */
import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import { createServer } from "node:net";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { type Child, exited } from "./child-process.js";

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => resolve(typeof address === "object" && address !== null ? address.port : 0));
    });
  });

export async function startPortkey(profileDir?: string): Promise<Child<{ url: string; version: string }>> {
  const require = createRequire(import.meta.url);
  const manifest = require.resolve("@portkey-ai/gateway/package.json");
  const version = (require(manifest) as { version: string }).version;
  const port = await freePort();
  const profile = profileDir === undefined ? [] : ["--cpu-prof", `--cpu-prof-dir=${profileDir}`];
  const child = spawn(
    process.execPath,
    [
      ...profile,
      "--require",
      fileURLToPath(new URL("./portkey-fetch-shim.cjs", import.meta.url)),
      join(dirname(manifest), "build/start-server.js"),
      `--port=${port}`,
      "--headless",
    ],
    { stdio: ["ignore", "ignore", "inherit"] },
  );
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (let attempt = 0; Date.now() < deadline && child.exitCode === null; attempt++) {
    const ok = await fetch(url).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) {
      return {
        name: "portkey",
        pid: child.pid ?? -1,
        info: { url, version },
        stop: async () => {
          child.kill("SIGTERM");
          await exited(child, 5_000);
        },
      };
    }
    await new Promise((r) => setTimeout(r, 100 + attempt * 10));
  }
  child.kill("SIGKILL");
  throw new Error(`Portkey ${version} did not answer on ${url} within 30 s (exit code ${child.exitCode})`);
}
