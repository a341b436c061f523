import { type Catalog, DEFAULT_CATALOG, mergeCatalog } from "@pocket-ai/protocol";
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
