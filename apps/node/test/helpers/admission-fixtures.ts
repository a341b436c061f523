import { fileURLToPath } from "node:url";
import { DEFAULT_CATALOG, findService } from "@pocket-ai/protocol";
import type { BackendCapabilities } from "../../src/backends/backend.js";
import type { ServedService } from "../../src/relay/served-service.js";
import type { TokenCounter } from "../../src/tokens/token-counter.js";

export { TEST_SESSION } from "./node-harness.js";

/** What admission tests share besides the harness's session rule: the node's migrations, the Llama 2 service. */
export const nodeMigrations = fileURLToPath(new URL("../../drizzle", import.meta.url));

export const llamaSpec = findService(DEFAULT_CATALOG, "llama-2-13b")!;

/**
 * The Llama 2 service on every tier of the catalog, counted by `tokens`, with a text backend that
 * does everything (tools, JSON schemas, token prompts) unless `capabilities` says otherwise.
 */
export function servedLlama(
  tokens: TokenCounter,
  declaredModel: ServedService["declaredModel"],
  capabilities: Partial<BackendCapabilities> = {},
): ServedService {
  return {
    spec: llamaSpec,
    tiers: new Map(llamaSpec.tiers.map((tier) => [tier.id, tier])),
    capabilities: {
      completions: true,
      chat: true,
      streaming: true,
      promptLogprobs: true,
      logprobs: true,
      seed: true,
      tokenize: false,
      n: true,
      tools: true,
      forcedToolChoice: true,
      jsonMode: true,
      jsonSchema: true,
      tokenPrompts: true,
      embeddings: false,
      images: null,
      ...capabilities,
    },
    tokens,
    declaredModel,
  };
}
