import type { NodeHealth, NodeInfo } from "@pocket-ai/link";
import type { NodeServiceOffer } from "@pocket-ai/protocol";
import { Context, Effect, Layer } from "effect";
import { NodeSettings } from "../app/node-settings.js";
import { BackendPools } from "../app/served-services.js";
import { DEV_BACKEND_LABEL } from "../backends/dev/index.js";
import { NodeIdentity } from "../identity/node-identity.js";

export type { NodeHealth, NodeInfo } from "@pocket-ai/link";

/** The package version reported to gateways and in `info`. */
export const NODE_SOFTWARE = { name: "pocket-ai-node", version: "0.1.0" } as const;

/**
 * What the node says about itself: the offers it announces to gateways, its `info` (identity,
 * services with their backends, hardware) and its health (at least one healthy backend).
 */
export class NodeDescription extends Context.Tag("node/NodeDescription")<
  NodeDescription,
  {
    readonly offers: readonly NodeServiceOffer[];
    readonly info: NodeInfo;
    readonly health: () => NodeHealth;
  }
>() {
  static readonly layer = Layer.effect(
    NodeDescription,
    Effect.gen(function* () {
      const { config } = yield* NodeSettings;
      const { key } = yield* NodeIdentity;
      const { services, pools } = yield* BackendPools;
      const offers: NodeServiceOffer[] = [...services.values()].map((s) => ({
        serviceId: s.spec.id,
        tiers: [...s.tiers.keys()],
        model: {
          declared: s.declaredModel.declared,
          ...(s.declaredModel.family === undefined ? {} : { family: s.declaredModel.family }),
          quantization: s.declaredModel.quantization,
        },
        capabilities: s.capabilities,
        tokenizer: { kind: s.tokens.kind, exact: s.tokens.exact },
      }));
      const usesDev = config.services.some((s) => s.backends.some((b) => b.kind === "dev"));
      const info: NodeInfo = {
        address: key.address,
        publicKey: key.publicKeyHex,
        software: NODE_SOFTWARE,
        services: offers.map((o) => ({
          ...o,
          backends: (pools.get(o.serviceId)?.stats().backends ?? []).map((b) => ({ kind: b.kind, id: b.id })),
        })),
        hardware: config.hardware,
        weighting: config.weighting,
        ...(usesDev ? { developmentBackend: DEV_BACKEND_LABEL } : {}),
      };
      const health = (): NodeHealth => {
        const backends: Record<string, boolean> = {};
        for (const pool of pools.values()) for (const b of pool.stats().backends) backends[b.id] = b.healthy;
        return { ok: Object.values(backends).some(Boolean), backends };
      };
      return { offers, info, health };
    }),
  );
}
