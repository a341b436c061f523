import type { BackendCapabilities } from "../backends/backend.js";
import type { TokenizerKind } from "../tokens/token-counter.js";

/** The package version reported to gateways and in `info`. */
export const NODE_SOFTWARE = { name: "pocket-ai-node", version: "0.1.0" } as const;

/**
 * What a node says about itself: identity, services with tiers, the declared model and its
 * quantization, what the backends can do, how tokens are counted (exact or an estimate), and the
 * hardware. Gateways show it; the evaluator tests the claims it makes.
 */
export interface NodeInfo {
  readonly address: string;
  readonly publicKey: string;
  readonly software: typeof NODE_SOFTWARE;
  readonly services: readonly {
    readonly serviceId: string;
    readonly tiers: readonly string[];
    readonly model: {
      readonly declared: string;
      readonly family?: string | undefined;
      readonly quantization: string;
    };
    readonly backends: readonly { readonly kind: string; readonly id: string }[];
    readonly capabilities: BackendCapabilities;
    readonly tokenizer: { readonly kind: TokenizerKind; readonly exact: boolean };
  }[];
  readonly hardware: { readonly gpu: string; readonly vramGb: number; readonly cpuOnly: boolean };
  readonly weighting: "per-call" | "per-token";
  /** Set when any service runs on the built-in development backend, so nobody mistakes it for a real model. */
  readonly developmentBackend?: string;
}
