import { fileURLToPath } from "node:url";
import {
  createRelayRequest,
  DEFAULT_CATALOG,
  deriveSessionHeader,
  findService,
  type KeyPair,
  type RelayInputCount,
} from "@pocket-ai/protocol";
import { openSqlite } from "@pocket-ai/runtime";
import { Effect } from "effect";
import type { BackendCapabilities } from "../../src/backends/backend.js";
import { ENGINE_CAPABILITIES } from "../../src/backends/engine-capabilities.js";
import type { NodeStoreError } from "../../src/db/node-store-error.js";
import { RelayStore } from "../../src/db/relay-store.js";
import { nodeSchema } from "../../src/db/schema.js";
import { type Admission, admitRelay } from "../../src/relay/admission.js";
import type { GatewayCounts } from "../../src/relay/gateway-counts.js";
import type { ServedService } from "../../src/relay/served-service.js";
import type { TokenCounter } from "../../src/tokens/token-counter.js";

import { TEST_SESSION } from "./node-harness.js";

export { TEST_SESSION };

/** What admission tests share besides the harness's session rule: the node's migrations, the Llama 2 service. */
export const nodeMigrations = fileURLToPath(new URL("../../drizzle", import.meta.url));

export const llamaSpec = findService(DEFAULT_CATALOG, "llama-2-13b")!;

/**
 * The Llama 2 service on every tier of the catalog, counted by `tokens`, with a text backend that
 * does everything (tools, JSON schemas, token prompts, suffixes) unless `capabilities` says otherwise.
 */
export function servedLlama(
  tokens: TokenCounter,
  declaredModel: ServedService["declaredModel"],
  capabilities: Partial<BackendCapabilities> = {},
): ServedService {
  return {
    spec: llamaSpec,
    tiers: new Map(llamaSpec.tiers.map((tier) => [tier.id, tier])),
    // vLLM started with tool calling (as an operator declares it), counted in-process: no /tokenize.
    capabilities: {
      ...ENGINE_CAPABILITIES.vllm,
      tokenize: false,
      tools: true,
      forcedToolChoice: true,
      suffix: true,
      ...capabilities,
    },
    tokens,
    declaredModel,
  };
}

/** The node's relay ledger in a fresh SQLite file `file`, migrated, for the scope. */
export const openTestLedger = (file: string) =>
  Effect.map(
    openSqlite({ file, schema: nodeSchema, migrationsFolder: nodeMigrations }),
    ({ db }) => new RelayStore(db),
  );

/**
 * Admits one relay to the Llama 2 service, signed by `signer` now for `node`: any gateway served,
 * every relay in session, the clock stopped at the signing time.
 */
export function admitLlamaRelay(options: {
  readonly store: RelayStore;
  readonly service: ServedService;
  readonly signer: KeyPair;
  readonly nodeAddress: string;
  readonly applicationAddress: string;
  readonly tier: string;
  readonly operation: "completions" | "chat.completions";
  readonly payload: object;
  readonly inputCount?: RelayInputCount | undefined;
  readonly counts?: GatewayCounts | undefined;
}): Effect.Effect<Admission, NodeStoreError> {
  const now = Date.now();
  const request = createRelayRequest(
    {
      header: deriveSessionHeader(TEST_SESSION, options.applicationAddress, llamaSpec.id, now),
      tier: options.tier,
      operation: options.operation,
      payload: { ...options.payload, model: llamaSpec.id },
      issuedAt: now,
      target: options.nodeAddress,
      ...(options.inputCount === undefined ? {} : { inputCount: options.inputCount }),
    },
    options.signer,
  );
  return admitRelay(request, {
    nodeAddress: options.nodeAddress,
    gateways: new Set(),
    session: TEST_SESSION,
    services: new Map([[llamaSpec.id, options.service]]),
    store: options.store,
    inSession: () => true,
    now: () => now,
    stream: false,
    counts: options.counts,
  });
}
