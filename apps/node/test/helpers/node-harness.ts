import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { makeNodeClient } from "@pocket-ai/link";
import {
  createRelayRequest,
  deriveSessionHeader,
  generateKeyPair,
  type KeyPair,
  type RelayOperation,
  type SessionParams,
} from "@pocket-ai/protocol";
import { createLogger, type Logger } from "@pocket-ai/runtime";
import { Effect, Exit, Scope } from "effect";
import { type RunningNode, startNode } from "../../src/app/node-app.js";
import { NodeConfig } from "../../src/config/node-config.js";

export const TEST_SESSION = {
  mode: "time",
  genesisMs: 0,
  sessionLengthMs: 600_000,
  graceMs: 60_000,
} as const satisfies SessionParams;

/** A node started in this process on 127.0.0.1:0 with a temp data folder; `stop()` closes its scope. */
export interface NodeHarness {
  readonly node: RunningNode;
  readonly dataDir: string;
  readonly client: ReturnType<typeof nodeClient>;
  stop(): Promise<void>;
}

/** The gateway's view of a node: the link's typed node client. */
export function nodeClient(trpcUrl: string) {
  return makeNodeClient(trpcUrl);
}

export async function startTestNode(
  overrides: Record<string, unknown> = {},
  dataDir?: string,
  options: { now?: () => number; log?: Logger } = {},
): Promise<NodeHarness> {
  const dir = dataDir ?? mkdtempSync(join(tmpdir(), "pocket-node-"));
  const config = NodeConfig.parse({
    listen: { host: "127.0.0.1", port: 0 },
    dataDir: dir,
    session: TEST_SESSION,
    shutdownDrainMs: 500,
    services: [
      { serviceId: "llama-2-13b", tiers: ["standard", "batch"], backends: [{ kind: "dev" }] },
      { serviceId: "stable-diffusion", tiers: ["standard"], backends: [{ kind: "dev" }] },
    ],
    ...overrides,
  });
  const scope = Effect.runSync(Scope.make());
  const node = await Effect.runPromise(
    Scope.extend(
      startNode(config, {
        log: options.log ?? createLogger({ app: "node-test", level: "error" }),
        claimLoop: false,
        ...(options.now === undefined ? {} : { now: options.now }),
      }),
      scope,
    ),
  );
  return {
    node,
    dataDir: dir,
    client: nodeClient(node.trpcUrl),
    stop: () => Effect.runPromise(Scope.close(scope, Exit.void)),
  };
}

/** Signs relay requests the way a gateway does. */
export class TestGateway {
  readonly key: KeyPair = generateKeyPair();
  readonly app: KeyPair = generateKeyPair();

  request(
    payload: Record<string, unknown>,
    options: {
      operation?: RelayOperation;
      serviceId?: string;
      tier?: string;
      target?: string;
      now?: number;
    } = {},
  ) {
    const serviceId = options.serviceId ?? "llama-2-13b";
    return createRelayRequest(
      {
        header: deriveSessionHeader(TEST_SESSION, this.app.address, serviceId, options.now ?? Date.now()),
        tier: options.tier ?? "standard",
        operation: options.operation ?? "completions",
        payload,
        issuedAt: options.now ?? Date.now(),
        ...(options.target === undefined ? {} : { target: options.target }),
      },
      this.key,
    );
  }
}
