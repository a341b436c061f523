/**
 * The paths to the mock backend, each with the processes whose CPU and memory it costs: direct
 * (the mock itself), floor (the minimal signed two-hop chain of `floor-hop.ts`), pocket (gateway
 * and node, signed and metered, claims on) and portkey.
 */
import type { Child } from "./child-process.js";
import { startRunner } from "./child-process.js";
import type { System, Target } from "./load-client.js";
import { startPortkey } from "./portkey.js";
import { cpuSeconds, treeCpuSeconds } from "./proc-stats.js";

export interface SystemUnderTest {
  readonly target: Target;
  /** The process in front (mock, gateway, Portkey), then any others on the path (the node). */
  readonly processes: readonly SystemProcess[];
}

export interface SystemProcess {
  readonly role: string;
  readonly pid: number;
  /** The process's own `process.cpuUsage()` in seconds, where it answers over IPC. */
  readonly cpuSeconds?: () => Promise<number>;
  /** CPU seconds from `/proc` of every process this entry stands for (several gateways, a node's workers). */
  readonly procCpu?: () => number;
}

/** Reads an entry's CPU seconds from `/proc`: its own process's, or all it stands for. */
export const cpuReader = (p: SystemProcess): (() => number) => p.procCpu ?? (() => cpuSeconds(p.pid));

export interface Systems {
  readonly list: readonly SystemUnderTest[];
  readonly of: (system: System) => SystemUnderTest | undefined;
  readonly notes: string[];
  readonly stop: () => Promise<void>;
}

const BODY_MODEL = { direct: "mock", floor: "mock", pocket: "llama-2-13b", portkey: "mock" } as const;
export const modelOf = (system: System) => BODY_MODEL[system];

/** How long the nodes have to register with every gateway and be announced there. */
const ANNOUNCE_WAIT_MS = 60_000;

/**
 * Waits until every gateway counts `count` healthy nodes for the benchmark's chat service (its
 * `GET /ready`), so that the first measured relays already see sessions of every node.
 */
async function nodesAnnounced(gateways: readonly Child<{ url: string }>[], count: number): Promise<void> {
  const deadline = Date.now() + ANNOUNCE_WAIT_MS;
  for (const gateway of gateways) {
    let seen = 0;
    while (seen < count) {
      try {
        const ready = (await (await fetch(`${gateway.info.url}/ready`)).json()) as {
          services?: Record<string, { tiers?: Record<string, number> }>;
        };
        seen = ready.services?.[modelOf("pocket")]?.tiers?.standard ?? 0;
      } catch {
        seen = 0;
      }
      if (seen >= count) break;
      if (Date.now() > deadline)
        throw new Error(`${gateway.name} announced ${seen} of ${count} nodes within ${ANNOUNCE_WAIT_MS} ms`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

export async function startSystems(options: {
  readonly tokenDelayMs: number;
  readonly portkey: boolean;
  readonly profileDir?: string | undefined;
  /** Rate limits for the Pocket AI path's API key (none when absent). */
  readonly keyLimits?: { readonly rpm?: number | undefined; readonly tpm?: number | undefined };
  /** Gateways in front of the one node (default 1): the load goes to each in turn. */
  readonly gateways?: number | undefined;
  /** The node's `workers` (default 1). */
  readonly nodeWorkers?: number | undefined;
  /**
   * Nodes serving the Pocket AI path (default 1), each registered with every gateway: with more
   * than one, a session holds several nodes and unary text relays are hedged (a second node is
   * started if the first is slow), as in a deployment.
   */
  readonly nodes?: number | undefined;
}): Promise<Systems> {
  const children: Child<unknown>[] = [];
  const notes: string[] = [];
  const mock = await startRunner<{ url: string }>("mock", "mock-backend.ts", {
    args: ["--token-delay-ms", String(options.tokenDelayMs)],
  });
  children.push(mock);
  const gateways: Child<{ url: string; trpcUrl: string; address: string; apiKey: string }>[] = [];
  for (let i = 0; i < Math.max(1, options.gateways ?? 1); i++) {
    gateways.push(
      await startRunner<{ url: string; trpcUrl: string; address: string; apiKey: string }>(
        i === 0 ? "gateway" : `gateway_${i + 1}`,
        "pocket-gateway.ts",
        {
          profileDir: options.profileDir,
          args: [
            ...(options.keyLimits?.rpm === undefined ? [] : ["--rpm", String(options.keyLimits.rpm)]),
            ...(options.keyLimits?.tpm === undefined ? [] : ["--tpm", String(options.keyLimits.tpm)]),
          ],
        },
      ),
    );
  }
  const gateway = gateways[0]!;
  children.push(...gateways);
  const nodeWorkers = Math.max(1, options.nodeWorkers ?? 1);
  const nodeCount = Math.max(1, options.nodes ?? 1);
  if (gateways.length > 1 || nodeWorkers > 1 || nodeCount > 1)
    notes.push(
      `Pocket AI path: ${gateways.length} gateway(s) taking the load in turn, ${nodeCount} node(s) with workers: ${nodeWorkers}; CPU is summed over the gateways and over the nodes' processes, RSS is the first gateway's and the first node's primary's`,
    );
  if (options.keyLimits?.rpm !== undefined || options.keyLimits?.tpm !== undefined) {
    notes.push(
      `Pocket AI key limits: rpm ${options.keyLimits.rpm ?? "none"}, tpm ${options.keyLimits.tpm ?? "none"}`,
    );
  }
  const nodes: Child<{ url: string }>[] = [];
  for (let i = 0; i < nodeCount; i++) {
    nodes.push(
      await startRunner<{ url: string }>(i === 0 ? "node" : `node_${i + 1}`, "pocket-node.ts", {
        args: [
          ...gateways.flatMap((g) => ["--gateway-trpc", g.info.trpcUrl, "--gateway-address", g.info.address]),
          "--backend-url",
          mock.info.url,
          "--workers",
          String(nodeWorkers),
        ],
        profileDir: options.profileDir,
      }),
    );
  }
  const node = nodes[0]!;
  children.push(...nodes);
  if (nodeCount > 1) await nodesAnnounced(gateways, nodeCount);
  const floorB = await startRunner<{ url: string }>("floor_b", "floor-hop.ts", {
    args: ["--role", "b", "--upstream", mock.info.url],
  });
  children.push(floorB);
  const floorA = await startRunner<{ url: string }>("floor_a", "floor-hop.ts", {
    args: ["--role", "a", "--upstream", floorB.info.url],
  });
  children.push(floorA);
  const processOf = (role: string, child: Child<unknown>): SystemProcess => ({
    role,
    pid: child.pid,
    ...(child.cpuSeconds === undefined ? {} : { cpuSeconds: child.cpuSeconds }),
  });
  const list: SystemUnderTest[] = [
    {
      target: { system: "direct", url: mock.info.url, headers: {} },
      processes: [processOf("mock", mock)],
    },
    {
      target: { system: "floor", url: floorA.info.url, headers: {} },
      processes: [processOf("floor_a", floorA), processOf("floor_b", floorB)],
    },
    {
      target: {
        system: "pocket",
        url: gateway.info.url,
        headers: { authorization: `Bearer ${gateway.info.apiKey}` },
        more: gateways
          .slice(1)
          .map((g) => ({ url: g.info.url, headers: { authorization: `Bearer ${g.info.apiKey}` } })),
      },
      processes:
        gateways.length === 1 && nodeWorkers === 1 && nodeCount === 1
          ? [processOf("gateway", gateway), processOf("node", node)]
          : [
              {
                role: "gateway",
                pid: gateway.pid,
                procCpu: () => gateways.reduce((sum, g) => sum + cpuSeconds(g.pid), 0),
              },
              {
                role: "node",
                pid: node.pid,
                procCpu: () => nodes.reduce((sum, n) => sum + treeCpuSeconds(n.pid), 0),
              },
            ],
    },
  ];
  if (options.portkey) {
    try {
      const portkey = await startPortkey(options.profileDir);
      children.push(portkey);
      notes.push(
        `Portkey gateway ${portkey.info.version} (npm @portkey-ai/gateway, build/start-server.js --headless)`,
      );
      list.push({
        target: {
          system: "portkey",
          url: portkey.info.url,
          headers: {
            authorization: "Bearer sk-bench-mock",
            "x-portkey-provider": "openai",
            "x-portkey-custom-host": `${mock.info.url}/v1`,
          },
        },
        processes: [{ role: "portkey", pid: portkey.pid }],
      });
    } catch (e) {
      notes.push(`Portkey not measured: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  return {
    list,
    of: (system) => list.find((s) => s.target.system === system),
    notes,
    stop: async () => {
      for (const child of children.reverse()) await child.stop().catch(() => undefined);
    },
  };
}
