import { mkdtempSync, rmSync } from "node:fs";
import { connect, createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createLogger } from "@pocket-ai/runtime";
import { Effect, Exit, Scope } from "effect";
import { type RunningGateway, startGateway } from "../../src/app/gateway-app.js";
import { GatewayConfig } from "../../src/config/gateway-config.js";
import { onFreePort } from "./free-port.js";
import { adminClient, LIVE_ADMIN_TOKEN, liveSession, startDevNode, waitForNodes } from "./live-network.js";

/** A TCP link between gateway and node that a test makes misbehave: what it is, and where it listens. */
export interface NodeLink {
  readonly server?: Server | undefined;
  readonly port: number;
}

/**
 * A TCP link in front of a node's port: each connection the gateway makes is joined to one made to
 * the node, and `connection` says what becomes of the bytes each side sends (`down` is the
 * gateway's socket, `up` the node's). A socket that closes or fails closes the other.
 */
export function nodeLink(
  upstreamPort: number,
  connection: (
    down: Socket,
    up: Socket,
  ) => { readonly fromGateway: (data: Buffer) => void; readonly fromNode: (data: Buffer) => void },
): Promise<NodeLink & { readonly server: Server }> {
  const server = createServer((down: Socket) => {
    const up = connect(upstreamPort, "127.0.0.1");
    const pipes = connection(down, up);
    down.on("data", pipes.fromGateway);
    up.on("data", pipes.fromNode);
    down.on("close", () => up.destroy());
    up.on("close", () => down.destroy());
    down.on("error", () => up.destroy());
    up.on("error", () => down.destroy());
  });
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () =>
      resolve({ server, port: (server.address() as { port: number }).port }),
    ),
  );
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
        // The test nodes listen on loopback.
        routing: { session, healthCheckMs: 60_000, allowPrivateEndpoints: true, ...options.routing },
        metering: { flushMs: 20 },
      }),
      { log: createLogger({ app: "live-gateway", level: "error" }) },
    ).pipe(Scope.extend(scope)),
  );
  const { link, node } = await onFreePort(async (nodePort) => {
    const link = await options.link(nodePort);
    try {
      const node = await startDevNode(
        { trpcUrl: gateway.trpcUrl, address: gateway.key.address },
        session,
        join(dir, "node"),
        {},
        { kind: "dev" },
        { listen: { host: "127.0.0.1", port: nodePort }, publicUrl: `http://127.0.0.1:${link.port}` },
      );
      return { link, node };
    } catch (e) {
      link.server?.close();
      throw e;
    }
  });
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
