import { mkdtempSync, rmSync } from "node:fs";
import type { Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createLogger } from "@pocket-ai/runtime";
import { Effect, Exit, Scope } from "effect";
import { type RunningGateway, startGateway } from "../../src/app/gateway-app.js";
import { GatewayConfig } from "../../src/config/gateway-config.js";
import { freePort } from "./free-port.js";
import { adminClient, LIVE_ADMIN_TOKEN, liveSession, startDevNode, waitForNodes } from "./live-network.js";

/** A TCP link between gateway and node that a test makes misbehave: what it is, and where it listens. */
export interface NodeLink {
  readonly server?: Server | undefined;
  readonly port: number;
}

/**
 * A real gateway on SQLite and one development node it reaches only through `link` (made in front
 * of the node's port), with `routing` added to the gateway's routing settings; ready once the
 * gateway has the node registered. `close` stops all of it and removes its files.
 */
export async function gatewayWithLinkedNode<L extends NodeLink>(options: {
  readonly name: string;
  readonly routing: Record<string, unknown>;
  readonly link: (nodePort: number) => Promise<L>;
}) {
  const dir = mkdtempSync(join(tmpdir(), `pocket-${options.name}-`));
  const session = liveSession();
  const scope = Effect.runSync(Scope.make());
  const gateway: RunningGateway = await Effect.runPromise(
    startGateway(
      GatewayConfig.parse({
        listen: { host: "127.0.0.1", port: 0 },
        dataDir: join(dir, "gateway"),
        adminToken: LIVE_ADMIN_TOKEN,
        routing: { session, healthCheckMs: 60_000, ...options.routing },
        metering: { flushMs: 20 },
      }),
      { log: createLogger({ app: "live-gateway", level: "error" }) },
    ).pipe(Scope.extend(scope)),
  );
  const nodePort = await freePort();
  const link = await options.link(nodePort);
  const node = await startDevNode(
    { trpcUrl: gateway.trpcUrl, address: gateway.key.address },
    session,
    join(dir, "node"),
    {},
    { kind: "dev" },
    { listen: { host: "127.0.0.1", port: nodePort }, publicUrl: `http://127.0.0.1:${link.port}` },
  );
  await waitForNodes(adminClient(gateway.trpcUrl), [node.node.key.address]);
  return {
    gateway,
    node,
    link,
    close: async () => {
      await Effect.runPromise(Scope.close(scope, Exit.void));
      await node.stop();
      link.server?.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
