/**
 * The paths to the mock backend, each with the processes whose CPU and memory it costs: direct
 * (the mock itself), floor (the minimal signed two-hop chain of `floor-hop.ts`), pocket (gateway
 * and node, signed and metered, claims on) and portkey.
 */
import type { Child } from "./child-process.js";
import { startRunner } from "./child-process.js";
import type { System, Target } from "./load-client.js";
import { startPortkey } from "./portkey.js";

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
}

export interface Systems {
  readonly list: readonly SystemUnderTest[];
  readonly of: (system: System) => SystemUnderTest | undefined;
  readonly notes: string[];
  readonly stop: () => Promise<void>;
}

const BODY_MODEL = { direct: "mock", floor: "mock", pocket: "llama-2-13b", portkey: "mock" } as const;
export const modelOf = (system: System) => BODY_MODEL[system];

export async function startSystems(options: {
  readonly tokenDelayMs: number;
  readonly portkey: boolean;
  readonly profileDir?: string | undefined;
  /** Rate limits for the Pocket AI path's API key (none when absent). */
  readonly keyLimits?: { readonly rpm?: number | undefined; readonly tpm?: number | undefined };
}): Promise<Systems> {
  const children: Child<unknown>[] = [];
  const notes: string[] = [];
  const mock = await startRunner<{ url: string }>("mock", "mock-backend.ts", {
    args: ["--token-delay-ms", String(options.tokenDelayMs)],
  });
  children.push(mock);
  const gateway = await startRunner<{ url: string; trpcUrl: string; address: string; apiKey: string }>(
    "gateway",
    "pocket-gateway.ts",
    {
      profileDir: options.profileDir,
      args: [
        ...(options.keyLimits?.rpm === undefined ? [] : ["--rpm", String(options.keyLimits.rpm)]),
        ...(options.keyLimits?.tpm === undefined ? [] : ["--tpm", String(options.keyLimits.tpm)]),
      ],
    },
  );
  children.push(gateway);
  if (options.keyLimits?.rpm !== undefined || options.keyLimits?.tpm !== undefined) {
    notes.push(
      `Pocket AI key limits: rpm ${options.keyLimits.rpm ?? "none"}, tpm ${options.keyLimits.tpm ?? "none"}`,
    );
  }
  const node = await startRunner<{ url: string }>("node", "pocket-node.ts", {
    args: [
      "--gateway-trpc",
      gateway.info.trpcUrl,
      "--gateway-address",
      gateway.info.address,
      "--backend-url",
      mock.info.url,
    ],
    profileDir: options.profileDir,
  });
  children.push(node);
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
      },
      processes: [processOf("gateway", gateway), processOf("node", node)],
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
