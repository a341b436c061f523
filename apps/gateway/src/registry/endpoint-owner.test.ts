import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { NodeConfig, startNode } from "@pocket-ai/node";
import {
  createNodeAnnouncement,
  GATEWAY_PROCEDURES,
  generateKeyPair,
  type KeyPair,
  RegistrationAck,
} from "@pocket-ai/protocol";
import { createLogger } from "@pocket-ai/runtime";
import { createTRPCUntypedClient, httpLink } from "@trpc/client";
import { Effect, Exit, Scope } from "effect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestNetwork, type TestNetwork } from "../../test/support/test-network.js";
import { until } from "../../test/support/until.js";
import { NodeRegistry } from "./node-registry.js";

let net: TestNetwork;
beforeAll(async () => {
  net = await startTestNetwork();
}, 60_000);
afterAll(() => net.close());

const freePort = () =>
  new Promise<number>((resolve) => {
    const server = createServer().listen(0, "127.0.0.1", () => {
      const port = (server.address() as { port: number }).port;
      server.close(() => resolve(port));
    });
  });

/** A signed announcement of `endpoint` by `key`, which serves nothing there. */
const announce = async (key: KeyPair, endpoint: string) => {
  const client = createTRPCUntypedClient({ links: [httpLink({ url: net.gatewayUrl })] });
  const ack = await client.mutation(
    GATEWAY_PROCEDURES.announce,
    createNodeAnnouncement(
      {
        endpoint,
        services: [
          {
            serviceId: "llama-2-13b",
            tiers: ["standard"],
            model: { declared: "llama-2-13b", quantization: "none" },
            capabilities: {
              completions: true,
              chat: true,
              streaming: true,
              promptLogprobs: false,
              logprobs: false,
              seed: true,
              tokenize: true,
              images: null,
            },
            tokenizer: { kind: "dev" as const, exact: true },
          },
        ],
        hardware: { gpu: "none", vramGb: 0, cpuOnly: true },
        software: { name: "squatter", version: "1" },
        issuedAt: Date.now(),
      },
      key,
    ),
  );
  return RegistrationAck.parse(ack);
};

const addresses = () =>
  net.managed.runPromise(Effect.map(NodeRegistry, (r) => r.list().map((n) => n.address)));

describe("an endpoint announced by two keys", () => {
  it("belongs to the node that answers there: a key that announced it first does not keep the owner out", async () => {
    const port = await freePort();
    const endpoint = `http://127.0.0.1:${port}/trpc`;
    const squatter = generateKeyPair();
    // Nothing answers at the endpoint yet: the first claim stands.
    expect((await announce(squatter, endpoint)).accepted).toBe(true);
    expect(await addresses()).toContain(squatter.address);

    const dataDir = mkdtempSync(join(tmpdir(), "pocket-endpoint-owner-"));
    const scope = Effect.runSync(Scope.make());
    try {
      const owner = await Effect.runPromise(
        Scope.extend(
          startNode(
            NodeConfig.parse({
              listen: { host: "127.0.0.1", port },
              publicUrl: `http://127.0.0.1:${port}`,
              dataDir,
              gateways: [{ url: net.gatewayUrl, address: net.key.address }],
              services: [{ serviceId: "llama-2-13b", tiers: ["standard"], backends: [{ kind: "dev" }] }],
              logLevel: "error",
            }),
            { log: createLogger({ app: "owner", level: "error" }), claimLoop: false },
          ),
          scope,
        ),
      );
      // The owner's announcement takes the endpoint over; the squatter's record is gone.
      await until(async () => (await addresses()).includes(owner.key.address), "the owner registered");
      expect(await addresses()).not.toContain(squatter.address);
      // And the squatter cannot take it back while the owner answers there.
      const again = await announce(squatter, endpoint);
      expect(again.accepted).toBe(false);
      expect(again.detail).toBe(`endpoint ${endpoint} is registered by another node`);
      expect(await addresses()).not.toContain(squatter.address);
    } finally {
      await Effect.runPromise(Scope.close(scope, Exit.void));
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
