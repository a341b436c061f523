import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createLogger } from "@pocket-ai/runtime";
import { createTRPCClient, httpLink } from "@trpc/client";
import { Effect, Exit, Scope } from "effect";
import { type RunningGateway, startGateway } from "../../src/app/gateway-app.js";
import type { GatewayAppRouter } from "../../src/app/routers.js";
import { GatewayConfig } from "../../src/config/gateway-config.js";
import { type LyingNode, startLyingNode } from "./lying-node.js";
import { until } from "./until.js";

const ADMIN = "liars-gateway-admin-token";
const SESSION = { mode: "time", genesisMs: 0, sessionLengthMs: 600_000, graceMs: 60_000 } as const;

const adminClient = (url: string) =>
  createTRPCClient<GatewayAppRouter>({
    links: [httpLink({ url, headers: { authorization: `Bearer ${ADMIN}` } })],
  });

/** A gateway on loopback for lying nodes, its warnings kept as lines, an application key, and its nodes. */
export interface LiarsGateway {
  readonly gateway: RunningGateway;
  readonly admin: ReturnType<typeof adminClient>;
  /** An API key of the gateway's one application. */
  readonly secret: string;
  /** The gateway's log lines (JSON), warnings and errors. */
  readonly lines: string[];
  /** Starts a lying node (honest until told otherwise) and waits until the gateway lists it fresh. */
  readonly addNode: () => Promise<LyingNode>;
  /** Stops the nodes and the gateway, and removes its folder. */
  readonly close: () => Promise<void>;
}

/**
 * Starts a real gateway (SQLite in a temporary folder, hedging off) with `routing` on top of its
 * session settings, for tests that put lying nodes behind it (`addNode`).
 */
export async function startLiarsGateway(
  name: string,
  routing: Record<string, unknown>,
): Promise<LiarsGateway> {
  const dataDir = mkdtempSync(join(tmpdir(), `pocket-${name}-`));
  const config = GatewayConfig.parse({
    listen: { host: "127.0.0.1", port: 0 },
    dataDir,
    adminToken: ADMIN,
    metering: { flushMs: 20 },
    drainMs: 1_000,
    // The test nodes listen on loopback.
    routing: { session: SESSION, hedge: { enabled: false }, allowPrivateEndpoints: true, ...routing },
  });
  const scope = Effect.runSync(Scope.make());
  const lines: string[] = [];
  const log = createLogger({ app: `gateway-${name}`, level: "warn", write: (line) => lines.push(line) });
  const gateway = await Effect.runPromise(startGateway(config, { log }).pipe(Scope.extend(scope)));
  const admin = adminClient(gateway.trpcUrl);
  const applicationId = (await admin.admin.applications.create.mutate({ name })).id;
  const { secret } = await admin.admin.keys.create.mutate({ applicationId, name });
  const nodes: LyingNode[] = [];
  return {
    gateway,
    admin,
    secret,
    lines,
    addNode: async () => {
      const node = await startLyingNode({
        gatewayTrpcUrl: gateway.trpcUrl,
        gatewayAddress: gateway.key.address,
        session: SESSION,
        maxTokens: 60,
      });
      nodes.push(node);
      await until(
        async () => {
          const list = (await admin.admin.nodes.list.query()) as { address: string; fresh: boolean }[];
          return list.some((n) => n.address === node.address && n.fresh);
        },
        `node ${node.address} to register`,
        60_000,
      );
      return node;
    },
    close: async () => {
      for (const node of nodes) await node.stop();
      await Effect.runPromise(Scope.close(scope, Exit.void));
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
