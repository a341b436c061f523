import { type Catalog, DEFAULT_CATALOG, findService, mergeCatalog } from "@pocket-ai/protocol";
import { createLogger, type Logger, type StartCode, StartFailure, withStartCode } from "@pocket-ai/runtime";
import { Context, Data, Effect, Layer } from "effect";
import type { NodeConfig } from "../config/node-config.js";

/** Why the node cannot start: a stable code (the runtime's `START_CODES`) and what to do. */
export class NodeStartError extends Data.TaggedError("NodeStartError")<{
  readonly code: StartCode;
  readonly reason: string;
}> {
  override get message(): string {
    return withStartCode(this.code, this.reason);
  }

  /** A part's failure at start, under its own code (`fallback` when it has none). */
  static of(error: unknown, fallback: StartCode): NodeStartError {
    const { code, reason } = StartFailure.of(error, fallback);
    return new NodeStartError({ code, reason });
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
        const catalog = nodeCatalog(config);
        if (typeof catalog === "string")
          return yield* new NodeStartError({ code: "INVALID_CONFIG", reason: catalog });
        return {
          config,
          catalog,
          log: options.log ?? createLogger({ app: "node", level: config.logLevel }),
          claimLoop: options.claimLoop !== false,
        };
      }),
    );
  }
}

/**
 * The catalog the node serves from (the default merged with the config's own), or why the config
 * cannot start: a catalog that does not merge, or a service or tier it does not have. Checked before
 * the data folder, the key file, the database or any engine is touched, so a refused config leaves
 * nothing behind.
 */
export function nodeCatalog(config: NodeConfig): Catalog | string {
  const merged =
    config.catalog === undefined
      ? { ok: true as const, value: DEFAULT_CATALOG }
      : mergeCatalog(DEFAULT_CATALOG, config.catalog);
  if (!merged.ok) return `catalog: ${merged.error.detail ?? merged.error.message}`;
  return unknownServiceOrTier(config, merged.value) ?? merged.value;
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
