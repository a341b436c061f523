import { type Catalog, DEFAULT_CATALOG, findService, mergeCatalog } from "@pocket-ai/protocol";
import { createLogger, type Logger } from "@pocket-ai/runtime";
import { Context, Data, Effect, Layer } from "effect";
import type { NodeConfig } from "../config/node-config.js";

export class NodeStartError extends Data.TaggedError("NodeStartError")<{ readonly reason: string }> {
  override get message(): string {
    return this.reason;
  }
}

export interface NodeOptions {
  readonly log?: Logger;
  /** Runs the claim loop on its own (default); tests turn it off and call `claimNow`. */
  readonly claimLoop?: boolean;
}

/** The node's validated config, its catalog (the default merged with the config's), logger and switches. */
export class NodeSettings extends Context.Tag("node/NodeSettings")<
  NodeSettings,
  {
    readonly config: NodeConfig;
    readonly catalog: Catalog;
    readonly log: Logger;
    readonly claimLoop: boolean;
  }
>() {
  static layer(config: NodeConfig, options: NodeOptions = {}) {
    return Layer.effect(
      NodeSettings,
      Effect.gen(function* () {
        const merged =
          config.catalog === undefined
            ? { ok: true as const, value: DEFAULT_CATALOG }
            : mergeCatalog(DEFAULT_CATALOG, config.catalog);
        if (!merged.ok) {
          return yield* new NodeStartError({
            reason: `catalog: ${merged.error.detail ?? merged.error.message}`,
          });
        }
        // Before the key file, the database or any engine is touched: a config naming a service or
        // tier this catalog does not have leaves nothing behind.
        const unknown = unknownServiceOrTier(config, merged.value);
        if (unknown !== undefined) return yield* new NodeStartError({ reason: unknown });
        return {
          config,
          catalog: merged.value,
          log: options.log ?? createLogger({ app: "node", level: config.logLevel }),
          claimLoop: options.claimLoop !== false,
        };
      }),
    );
  }
}

/** The first configured service or tier the catalog does not have, as the message naming its field. */
export function unknownServiceOrTier(config: NodeConfig, catalog: Catalog): string | undefined {
  for (const [i, served] of config.services.entries()) {
    const spec = findService(catalog, served.serviceId);
    if (spec === undefined)
      return `services.${i}.serviceId: "${served.serviceId}" is not in the catalog (known: ${catalog.services.map((s) => s.id).join(", ")})`;
    const tiers: readonly { readonly id: string }[] = spec.tiers;
    for (const tierId of served.tiers)
      if (!tiers.some((t) => t.id === tierId))
        return `services.${i}.tiers: "${tierId}" is not a tier of ${spec.id} (tiers: ${tiers.map((t) => t.id).join(", ")})`;
  }
  return undefined;
}
