import {
  DEFAULT_CATALOG,
  deriveSessionHeader,
  findService,
  findTier,
  resolveModelName,
  SessionParams,
} from "@pocket-ai/protocol";
import type { RegisteredNode } from "../../src/registry/registered-node.js";
import type { DispatchRequest } from "../../src/relay/dispatcher.js";
import type { Route } from "../../src/routing/route-plan.js";

/** For tests: 10 s sessions with a 1 s grace, from time 0. */
export const testSession = SessionParams.parse({
  mode: "time",
  genesisMs: 0,
  sessionLengthMs: 10_000,
  graceMs: 1_000,
});

/**
 * For tests: a route of `llama-2-13b` on its standard tier to a node with no offers (the gateway's
 * counts fall back to the bounds every tokenizer meets), in the session at `now`.
 */
export function testRoute(now: number): Route {
  return {
    node: { address: "pokt1node", offers: new Map() } as unknown as RegisteredNode,
    header: deriveSessionHeader(testSession, "pokt1app", "llama-2-13b", now),
    servedServiceId: "llama-2-13b",
    servedTier: findTier(findService(DEFAULT_CATALOG, "llama-2-13b")!, "standard")!,
  };
}

/** For tests: what the front door dispatches for `llama-2-13b` with this body. */
export function testDispatch(
  body: Record<string, unknown>,
  operation: DispatchRequest["operation"] = "completions",
): DispatchRequest {
  const resolved = resolveModelName(DEFAULT_CATALOG, "llama-2-13b");
  if (!resolved.ok) throw new Error("llama-2-13b is not in the catalog");
  return {
    application: { id: "app", address: "pokt1app" },
    keyId: "key",
    target: resolved.value,
    operation,
    body: { model: "llama-2-13b", ...body },
  };
}
