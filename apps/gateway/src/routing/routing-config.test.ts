import { DEFAULT_CATALOG } from "@pocket-ai/protocol";
import { describe, expect, it } from "vitest";
import { forgetNodesAfterMs, longestRelayMs, RoutingConfig, relayTimeoutMs } from "./routing-config.js";

describe("RoutingConfig", () => {
  it("has the documented defaults", () => {
    const config = RoutingConfig.parse({});
    expect(config).toMatchObject({
      session: { mode: "time", genesisMs: 0, sessionLengthMs: 600_000, graceMs: 60_000 },
      nodesPerSession: 24,
      retry: { maxAttempts: 3 },
      hedge: { enabled: true, afterMs: 2_000 },
      selection: { probationShare: 0.05, maxOperatorShare: 0.5, unscoredShare: 0.1, sanctionMs: 60_000 },
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

  it("bounds the longest relay by every attempt at the catalog's longest timeout, overrides included", () => {
    // stable-diffusion:batch: 600 s, three attempts.
    expect(longestRelayMs(RoutingConfig.parse({}), DEFAULT_CATALOG)).toBe(3 * 600_000);
    const override = RoutingConfig.parse({
      timeouts: { "llama-2-13b:standard": 3_600_000 },
      retry: { maxAttempts: 2 },
    });
    expect(longestRelayMs(override, DEFAULT_CATALOG)).toBe(2 * 3_600_000);
    // An override of a tier no service has times no relay.
    const unused = RoutingConfig.parse({ timeouts: { "*:nightly": 3_600_000 } });
    expect(longestRelayMs(unused, DEFAULT_CATALOG)).toBe(3 * 600_000);
  });

  it("forgets a quiet node after an hour, or after what its sessions need when that is longer, and refuses less", () => {
    expect(forgetNodesAfterMs(RoutingConfig.parse({}))).toBe(3_600_000);
    expect(forgetNodesAfterMs(RoutingConfig.parse({ forgetNodesAfterMs: 86_400_000 }))).toBe(86_400_000);
    // Three announce periods, a session and its grace: 3 × 60 s + 2 h + 60 s.
    const longSessions = {
      session: { mode: "time" as const, genesisMs: 0, sessionLengthMs: 7_200_000, graceMs: 60_000 },
    };
    expect(forgetNodesAfterMs(RoutingConfig.parse(longSessions))).toBe(7_440_000);
    const short = RoutingConfig.safeParse({ ...longSessions, forgetNodesAfterMs: 3_600_000 });
    expect(short.success).toBe(false);
    expect(short.error?.issues[0]).toMatchObject({ path: ["forgetNodesAfterMs"] });
    expect(short.error?.issues[0]?.message).toMatch(/^must be at least 7440000 ms/);
  });

  it("refuses unknown fields", () => {
    expect(RoutingConfig.safeParse({ retries: 3 }).success).toBe(false);
  });
});
