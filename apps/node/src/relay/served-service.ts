import type { ServiceSpec, TierSpec } from "@pocket-ai/protocol";
import type { BackendCapabilities } from "../backends/backend.js";
import type { TokenCounter } from "../tokens/token-counter.js";

/**
 * What the relay path needs to know about one service this node serves: the catalog entry, the
 * tiers the node runner chose, what its backends can do (the intersection over its backends,
 * so a relay is never admitted that one of them would fail), and how input tokens are counted.
 */
export interface ServedService {
  readonly spec: ServiceSpec;
  readonly tiers: ReadonlyMap<string, TierSpec>;
  readonly capabilities: BackendCapabilities;
  readonly tokens: TokenCounter;
  readonly declaredModel: {
    readonly declared: string;
    readonly family?: string | undefined;
    readonly quantization: string;
  };
}
