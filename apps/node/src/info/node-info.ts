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
          backends: (pools.get(o.serviceId)?.stats().backends ?? []).map((b, i) => ({
            kind: b.kind,
            id: publicBackendId(o.serviceId, b.kind, i),
          })),
        })),
        hardware: config.hardware,
        weighting: config.weighting,
        ...(usesDev ? { developmentBackend: DEV_BACKEND_LABEL } : {}),
      };
      const health = (): NodeHealth => {
        const backends: Record<string, boolean> = {};
        for (const [serviceId, pool] of pools)
          for (const [i, b] of pool.stats().backends.entries())
            backends[publicBackendId(serviceId, b.kind, i)] = b.healthy;
        return { ok: Object.values(backends).some(Boolean), backends };
      };
      return { offers, info, health };
    }),
  );
}

/**
 * A backend as the node's public answers name it (`info`, `/health`): its service, kind and place
 * in the service's `backends` list (`llama-2-13b/vllm#0`), never its engine's URL, which would show
 * anyone who asks the addresses behind the node. Logs and `pocket-node check` name the URL.
 */
function publicBackendId(serviceId: string, kind: string, index: number): string {
  return `${serviceId}/${kind}#${index}`;
}
