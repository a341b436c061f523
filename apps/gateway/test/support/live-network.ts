import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { NodeConfig, type RunningNode, startNode } from "@pocket-ai/node";
import { createLogger } from "@pocket-ai/runtime";
import { createTRPCClient, httpLink } from "@trpc/client";
import Database from "better-sqlite3";
import { Effect, Exit, Scope } from "effect";
import { startGateway } from "../../src/app/gateway-app.js";
import type { GatewayAppRouter } from "../../src/app/routers.js";
import { GatewayConfig } from "../../src/config/gateway-config.js";
import { until } from "./until.js";

export const LIVE_ADMIN_TOKEN = "live-network-admin-token-0123";

/**
 * One session long enough that no test crosses a rollover, shared by the gateway and its nodes
 * (nodes refuse relays whose session header they cannot recompute).
 */
export const liveSession = () => ({
  mode: "time" as const,
  genesisMs: Date.now() - 1_000,
  sessionLengthMs: 3_600_000,
  graceMs: 60_000,
});

export type LiveSession = ReturnType<typeof liveSession>;

export function adminClient(trpcUrl: string) {
  return createTRPCClient<GatewayAppRouter>({
    links: [httpLink({ url: `${trpcUrl}`, headers: { authorization: `Bearer ${LIVE_ADMIN_TOKEN}` } })],
  });
}

/**
 * A node on the development backend (instant, deterministic) serving text, images and embeddings;
 * `backend` and `imageBackend` replace the text and image services' development backends.
 */
export async function startDevNode(
  gateway: { readonly trpcUrl: string; readonly address: string },
  session: LiveSession,
  dataDir: string,
  backend: Record<string, unknown> = {},
  imageBackend: Record<string, unknown> = { kind: "dev" },
  /** More node settings (`countAuditEvery`, `catalog`, …) over the defaults. */
  settings: Record<string, unknown> = {},
  /** Settings of the text service over `llama-2-13b` on standard and batch (`serviceId`, `tiers`, `model`). */
  textService: Record<string, unknown> = {},
) {
  const scope = Effect.runSync(Scope.make());
  const node: RunningNode = await Effect.runPromise(
    Scope.extend(
      startNode(
        NodeConfig.parse({
          listen: { host: "127.0.0.1", port: 0 },
          dataDir,
          gateways: [{ url: gateway.trpcUrl, address: gateway.address }],
          session,
          shutdownDrainMs: 500,
          logLevel: "error",
          ...settings,
          services: [
            {
              serviceId: "llama-2-13b",
              tiers: ["standard", "batch"],
              ...textService,
              backends: [{ kind: "dev", ...backend }],
            },
            { serviceId: "stable-diffusion", tiers: ["standard"], backends: [imageBackend] },
            { serviceId: "nomic-embed-text", tiers: ["standard"], backends: [{ kind: "dev" }] },
          ],
        }),
        { log: createLogger({ app: "live-node", level: "error" }), claimLoop: false },
      ),
      scope,
    ),
  );
  return { node, stop: () => Effect.runPromise(Scope.close(scope, Exit.void)) };
}

/** Waits until every address is registered and healthy at the gateway (state, not a timer). */
export async function waitForNodes(admin: ReturnType<typeof adminClient>, addresses: readonly string[]) {
  for (let i = 0; i < 600; i++) {
    const listed = await admin.admin.nodes.list.query();
    const serving = (n: (typeof listed)[number]) => n.state === "up" || n.state === "unprobed";
    if (addresses.every((a) => listed.some((n) => n.address === a && serving(n)))) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error("the nodes did not register with the gateway");
}

/**
 * For tests: a real gateway (the real routing side, no test dispatcher) on 127.0.0.1:0 over a
 * temp folder, with `nodes` real nodes on the development backend registered with it — or one node
 * per entry of `backends`, each serving the text service through that backend config (a fake
 * engine's `{ kind: "vllm", url }`), and its image service through the same entry of
 * `imageBackends` (a fake ComfyUI's `{ kind: "comfyui", url, model }`) where there is one.
 */
export async function startLiveNetwork(
  options: {
    readonly nodes?: number;
    readonly backends?: readonly Record<string, unknown>[];
    readonly imageBackends?: readonly Record<string, unknown>[];
    /** More settings of every node (`countAuditEvery`, …). */
    readonly nodeSettings?: Record<string, unknown>;
    /** Catalog additions (`services: [...]`) of the gateway and every node. */
    readonly catalog?: Record<string, unknown>;
    /** Settings of every node's text service over the defaults (`serviceId`, `tiers`, `model`). */
    readonly textService?: Record<string, unknown>;
    /** More routing settings of the gateway (`evaluator`, …) over the network's session. */
    readonly routing?: Record<string, unknown>;
  } = {},
) {
  const dir = mkdtempSync(join(tmpdir(), "pocket-live-"));
  const session = liveSession();
  const scope = Effect.runSync(Scope.make());
  const logLines: string[] = [];
  const gateway = await Effect.runPromise(
    startGateway(
      GatewayConfig.parse({
        listen: { host: "127.0.0.1", port: 0 },
        dataDir: join(dir, "gateway"),
        adminToken: LIVE_ADMIN_TOKEN,
        // The test nodes listen on loopback.
        routing: { session, healthCheckMs: 60_000, allowPrivateEndpoints: true, ...options.routing },
        metering: { flushMs: 20 },
        drainMs: 2_000,
        ...(options.catalog === undefined ? {} : { catalog: options.catalog }),
      }),
      { log: createLogger({ app: "live-gateway", level: "warn", write: (line) => logLines.push(line) }) },
    ).pipe(Scope.extend(scope)),
  );
  const nodes: Awaited<ReturnType<typeof startDevNode>>[] = [];
  const count = Math.max(
    options.backends?.length ?? 0,
    options.imageBackends?.length ?? 0,
    options.backends === undefined && options.imageBackends === undefined ? (options.nodes ?? 2) : 0,
  );
  for (let i = 0; i < count; i++) {
    nodes.push(
      await startDevNode(
        { trpcUrl: gateway.trpcUrl, address: gateway.key.address },
        session,
        join(dir, `node-${i}`),
        options.backends?.[i],
        options.imageBackends?.[i],
        options.catalog === undefined
          ? options.nodeSettings
          : { ...options.nodeSettings, catalog: options.catalog },
        options.textService,
      ),
    );
  }
  const admin = adminClient(gateway.trpcUrl);
  await waitForNodes(
    admin,
    nodes.map((n) => n.node.key.address),
  );
  const app = await admin.admin.applications.create.mutate({ name: "live" });
  const newKey = async (limits: { rpm?: number; tpm?: number; budgetMicroUsd?: number } = {}) =>
    admin.admin.keys.create.mutate({ applicationId: app.id, name: "k", ...limits });
  return {
    gateway,
    nodes,
    admin,
    newKey,
    logLines,
    ledgerFile: join(dir, "gateway", "gateway.sqlite"),
    close: async () => {
      await Effect.runPromise(Scope.close(scope, Exit.void));
      for (const n of nodes) await n.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export type LiveNetwork = Awaited<ReturnType<typeof startLiveNetwork>>;

export interface LedgerRelay {
  readonly operation: string;
  readonly outcome: string;
  readonly nodeAddress: string | null;
  readonly images: number;
  readonly priceMicroUsd: number;
  /** Whether the node that answered holds the relay's leaf for its claim (it is paid on proof). */
  readonly claimable: boolean;
}

/**
 * The gateway's ledger row of the relay a client received (`x-pocket-relay` names it), once it is
 * metered, and whether its node could claim it: signed by both sides, verified, priced and paid.
 */
export async function ledgerRelay(net: LiveNetwork, requestHash: string): Promise<LedgerRelay> {
  type Row = {
    operation: string;
    outcome: string;
    node_address: string | null;
    session_id: string;
    leaf_hash: string | null;
    images: number;
    price_micro_usd: number;
  };
  let row: Row | undefined;
  await until(() => {
    const db = new Database(net.ledgerFile, { readonly: true });
    try {
      row = db
        .prepare(
          "select operation, outcome, node_address, session_id, leaf_hash, images, price_micro_usd from relays where request_hash = ?",
        )
        .get(requestHash) as Row | undefined;
    } finally {
      db.close();
    }
    return row !== undefined;
  }, `relay ${requestHash} in the ledger`);
  const found = row!;
  const node = net.nodes.find((n) => n.node.key.address === found.node_address)?.node;
  const leaves = node?.relays.leaves(found.session_id, net.gateway.key.address) ?? [];
  return {
    operation: found.operation,
    outcome: found.outcome,
    nodeAddress: found.node_address,
    images: found.images,
    priceMicroUsd: found.price_micro_usd,
    claimable: found.leaf_hash !== null && leaves.some((l) => l.leafHash === found.leaf_hash),
  };
}

/**
 * Whether the gateway blamed any node: sanctions, or attempt outcomes other than a verified
 * answer or a refusal about the request itself (which is the caller's).
 */
export function nodeBlame(metrics: string): string[] {
  const callerOutcomes = new Set([
    "ok",
    "INVALID_REQUEST",
    "INPUT_TOO_LONG",
    "OUTPUT_TOO_LONG",
    "IMAGE_TOO_LARGE",
    "ENGINE_REJECTED",
  ]);
  return metrics.split("\n").filter((line) => {
    const value = Number(line.slice(line.lastIndexOf(" ") + 1));
    if (!(value > 0)) return false;
    if (line.startsWith("pocket_gateway_node_sanctions_total")) return true;
    if (!line.startsWith("pocket_gateway_node_relays_total")) return false;
    const outcome = /outcome="([^"]*)"/.exec(line)?.[1] ?? "";
    return !callerOutcomes.has(outcome);
  });
}

/**
 * A node's counters of text relays' input counts (`pocket_node_input_counts_total`) by source
 * (`gateway`, `audit`, `node`), and of gateways caught with a wrong count, from its `/metrics` page.
 */
export async function nodeInputCounts(
  nodeUrl: string,
): Promise<{ readonly bySource: Record<string, number>; readonly wrong: number }> {
  const text = await (await fetch(`${nodeUrl}/metrics`)).text();
  const bySource: Record<string, number> = {};
  let wrong = 0;
  for (const line of text.split("\n")) {
    const source = /^pocket_node_input_counts_total\{source="([a-z]+)"\} (\d+)/.exec(line);
    if (source !== null) bySource[source[1]!] = Number(source[2]);
    const caught = /^pocket_node_gateway_counts_wrong_total\{[^}]*\} (\d+)/.exec(line);
    if (caught !== null) wrong += Number(caught[1]);
  }
  return { bySource, wrong };
}

/**
 * The value of one series of a gateway's `/metrics` page (`name{labels}` as the page writes it),
 * 0 while the series does not exist yet.
 */
export async function seriesValue(gatewayUrl: string, series: string): Promise<number> {
  const text = await (await fetch(`${gatewayUrl}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? 0 : Number(line.split(" ").at(-1));
}
