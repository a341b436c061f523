import { DEFAULT_CATALOG, RELAY_BUDGET_VECTORS } from "@pocket-ai/protocol";
import { describe, expect, it } from "vitest";
import { answerLimits } from "../relay/relay-envelope.js";
import type { Route } from "../routing/route-plan.js";
import { prepareRelay } from "./prepare-request.js";

// The node's side of the same vectors is checked in the node app's admission tests.
describe("the front door and the dispatcher apply the protocol's budget rule alike", () => {
  it.each(RELAY_BUDGET_VECTORS.map((v) => [v.name, v] as const))("%s", (_name, vector) => {
    const prepared = prepareRelay(DEFAULT_CATALOG, vector.operation, vector.request);
    if ("error" in vector.expected) {
      expect(!prepared.ok && prepared.error.code).toBe(vector.expected.error);
      return;
    }
    if (!prepared.ok) throw new Error(prepared.error.detail ?? prepared.error.message);
    const relay = prepared.value;
    expect(relay.inputTokens).toBe(vector.expected.inputTokens);
    expect(relay.maxOutputTokens).toBe(vector.expected.maxOutputTokens);
    expect(relay.body.max_tokens).toBe(vector.expected.maxTokens);
    // The dispatcher sees the front door's body (max_tokens already clamped) on the served tier.
    const route = { servedTier: relay.target.tier, node: { offers: new Map() } } as unknown as Route;
    const limits = answerLimits(route, {
      application: { id: "a", address: "a" },
      keyId: "k",
      target: relay.target,
      operation: vector.operation,
      body: relay.body,
    });
    expect(limits.inputTokens).toBe(vector.expected.inputTokens);
    expect(limits.maxOutputTokens).toBe(vector.expected.maxOutputTokens);
    // And on the caller's original body, before the front door clamped it.
    const raw = answerLimits(route, {
      application: { id: "a", address: "a" },
      keyId: "k",
      target: relay.target,
      operation: vector.operation,
      body: { ...vector.request },
    });
    expect(raw.maxOutputTokens).toBe(vector.expected.maxOutputTokens);
  });
});
