import { describe, expect, it } from "vitest";
import { RoutingConfig, relayTimeoutMs } from "./routing-config.js";

describe("RoutingConfig", () => {
  it("has the documented defaults", () => {
    const config = RoutingConfig.parse({});
    expect(config).toMatchObject({
      session: { mode: "time", genesisMs: 0, sessionLengthMs: 600_000, graceMs: 60_000 },
      nodesPerSession: 24,
      retry: { maxAttempts: 3 },
      hedge: { enabled: true, afterMs: 2_000 },
      selection: { probationShare: 0.05, maxOperatorShare: 0.5, sanctionMs: 60_000 },
    });
    expect(config.evaluator).toBeUndefined();
    expect(RoutingConfig.parse({ evaluator: { url: "http://127.0.0.1:1/trpc" } }).evaluator?.pollMs).toBe(
      30_000,
    );
  });

  it("picks a timeout override for the service and tier, then any service's tier, then the tier's own", () => {
    const config = RoutingConfig.parse({ timeouts: { "llama-2-13b:batch": 9_000, "*:batch": 7_000 } });
    expect(relayTimeoutMs(config, "llama-2-13b", { id: "batch", timeoutMs: 1 })).toBe(9_000);
    expect(relayTimeoutMs(config, "mistral-7b", { id: "batch", timeoutMs: 1 })).toBe(7_000);
    expect(relayTimeoutMs(config, "mistral-7b", { id: "standard", timeoutMs: 30_000 })).toBe(30_000);
  });

  it("refuses unknown fields", () => {
    expect(RoutingConfig.safeParse({ retries: 3 }).success).toBe(false);
  });
});
