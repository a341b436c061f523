import { ServiceSpec, SessionParams } from "@pocket-ai/protocol";
import { TINY_MODEL_SPEC } from "@pocket-ai/tiny-model";
import { z } from "zod";

const port = z.number().int().min(0).max(65535);

/**
 * The local network's settings. Every field can be overridden from the environment with the
 * prefix `POCKET_LOCALNET__`: `POCKET_LOCALNET__PORTS__GATEWAY=9080`, `POCKET_LOCALNET__DATA_DIR=/tmp/net`.
 */
export const LocalnetConfig = z.strictObject({
  /** One folder for all state (databases, keys, the demo key); it survives restarts. */
  dataDir: z.string().default("./.data/localnet"),
  host: z.string().default("127.0.0.1"),
  ports: z
    .strictObject({
      gateway: port.default(8080),
      evaluator: port.default(8546),
      nodes: z
        .array(port, { error: "a JSON list of three ports, like [8551,8552,8553]" })
        .length(3, "a JSON list of three ports, like [8551,8552,8553]")
        .default([8551, 8552, 8553]),
    })
    .prefault({})
    .check((ctx) => {
      // Two of the network's servers on one port: the second would fail halfway through the start.
      const named = [
        ["gateway", ctx.value.gateway],
        ["evaluator", ctx.value.evaluator],
        ...ctx.value.nodes.map((p, i) => [`nodes[${i}]`, p] as const),
      ] as const;
      const seen = new Map<number, string>();
      for (const [name, p] of named) {
        const first = p === 0 ? undefined : seen.get(p);
        if (first !== undefined) {
          ctx.issues.push({
            code: "custom",
            message: `port ${p} is set for both ${first} and ${name}; give each server its own port`,
            input: ctx.value,
          });
          return;
        }
        seen.set(p, name);
      }
    }),
  session: SessionParams.default({ mode: "time", genesisMs: 0, sessionLengthMs: 600_000, graceMs: 60_000 }),
  evaluation: z
    .strictObject({
      enabled: z.boolean().default(true),
      /**
       * Items per task in each round (a random sample), to keep rounds short on a laptop; 8 is the
       * least at which every quality bar can be reached with evidence pooled over rounds.
       */
      itemsPerTask: z.number().int().min(0).default(8),
      roundIntervalMs: z.number().int().min(1_000).default(600_000),
    })
    .prefault({}),
  /**
   * The gateway starts a second node when the first has not answered a text call within 2 s. Both
   * relays are then the gateway's and both are paid; tests that count relays one per request turn it off.
   */
  hedging: z.boolean().default(true),
  /** E-mail addresses that are the portal's administrators once they sign up (local network only). */
  portalAdmins: z.array(z.email()).default(["operator@localnet.test"]),
  /** The week's POKT price set on start when none is set: $0.25, the seed's example. */
  rateMicroUsdPerPokt: z.number().int().positive().default(250_000),
  logLevel: z.enum(["debug", "info", "warn", "error"]).default("warn"),
});
export type LocalnetConfig = z.infer<typeof LocalnetConfig>;

/** The three development nodes: they differ in quality, speed and tier, as real ones would. */
export const LOCAL_NODES = [
  {
    name: "alpha",
    operator: "operator-a",
    quality: 1,
    tokensPerSecond: 0,
    firstTokenMs: 0,
    textTiers: ["standard"],
    images: true,
    hardware: { gpu: "development GPU (simulated)", vramGb: 24, cpuOnly: false },
  },
  {
    name: "beta",
    operator: "operator-b",
    quality: 0.6,
    tokensPerSecond: 150,
    firstTokenMs: 40,
    textTiers: ["standard"],
    images: false,
    hardware: { gpu: "development GPU (simulated)", vramGb: 16, cpuOnly: false },
  },
  {
    name: "gamma",
    operator: "operator-c",
    quality: 0.35,
    tokensPerSecond: 40,
    firstTokenMs: 150,
    textTiers: ["batch"],
    images: false,
    hardware: { gpu: "none", vramGb: 0, cpuOnly: true },
  },
] as const;

/**
 * A real model next to the development backend: the project's tiny llama (`tooling/tiny-model`,
 * about 0.75M parameters, character-level, trained on the development corpus), run in-process by
 * llama.cpp through node beta's `gguf` backend. It is its own service in this network's catalog,
 * so `model: "pocket-tiny"` reaches it and the leaderboard scores it.
 */
export const TINY_MODEL_NODE = "beta";
export const TINY_MODEL_SERVICE: ServiceSpec = ServiceSpec.parse(TINY_MODEL_SPEC);
