import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Effect } from "effect";
import { afterAll, describe, expect, it } from "vitest";
import { startLocalnet } from "../src/localnet.js";
import { LocalnetConfig } from "../src/localnet-config.js";
import { loadState } from "../src/localnet-state.js";

const dir = mkdtempSync(join(tmpdir(), "pocket-localnet-refusals-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("the local network's start refusals", () => {
  it("names a taken port with PORT_IN_USE and the variable that moves it, before anything starts", async () => {
    const busy = createServer();
    await new Promise<void>((resolve) => busy.listen(0, "127.0.0.1", resolve));
    const port = (busy.address() as AddressInfo).port;
    try {
      const config = LocalnetConfig.parse({
        dataDir: join(dir, "busy"),
        ports: { gateway: port, evaluator: 0, nodes: [0, 0, 0] },
      });
      const refused = await Effect.runPromise(Effect.flip(Effect.scoped(startLocalnet(config))));
      expect(refused.code).toBe("PORT_IN_USE");
      expect(refused.message).toBe(
        `PORT_IN_USE: port ${port} (gateway) on 127.0.0.1 is already in use. Free it or set POCKET_LOCALNET__PORTS__GATEWAY=<another port>.`,
      );
    } finally {
      await new Promise((resolve) => busy.close(resolve));
    }
  });

  it("starts afresh from a state file cut short, instead of stopping on it", () => {
    const data = join(dir, "cut");
    mkdirSync(data);
    writeFileSync(join(data, "localnet.json"), '{"adminToken": "0123456789abcdef0123", "demo": {');
    expect(loadState(data).adminToken).toMatch(/^[\w-]{32}$/);
  });
});
