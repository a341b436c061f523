import { describe, expect, it } from "vitest";
import { NODE_STATS_SWEEP_AT, NodeStats } from "./node-stats.js";

describe("NodeStats", () => {
  it("averages latency per kind and error rate over relays", () => {
    const stats = new NodeStats();
    stats.success("a", "text", 100);
    stats.success("a", "text", 200);
    stats.success("a", "ttft", 50);
    stats.failure("a");
    const view = stats.view("a", 0);
    expect(view.latencyMs.text).toBeCloseTo(120, 6);
    expect(view.latencyMs.ttft).toBe(50);
    expect(view.errorRate).toBeCloseTo(0.2, 6);
    expect(view).toMatchObject({ relays: 4, failures: 1 });
  });

  it("raises a latency estimate to a wait given up on, never lowers one, and seeds none", () => {
    const stats = new NodeStats();
    // No estimate: a wait is only a lower bound, and a short one would make the node look fast.
    stats.waited("a", "text", 50);
    expect(stats.view("a", 0).latencyMs.text).toBeUndefined();
    stats.success("a", "text", 100);
    stats.waited("a", "text", 80);
    expect(stats.view("a", 0).latencyMs.text).toBe(100);
    stats.waited("a", "text", 300);
    // Moved as a sample of 300 would move it, and counted as neither a success nor a failure.
    expect(stats.view("a", 0).latencyMs.text).toBeCloseTo(140, 6);
    expect(stats.view("a", 0)).toMatchObject({ relays: 1, failures: 0, errorRate: 0 });
  });

  it("expires sanctions, and lets an operator lift one", () => {
    const stats = new NodeStats();
    stats.sanction("a", 1_000, 60_000, "bad signature");
    expect(stats.isSanctioned("a", 60_999)).toBe(true);
    expect(stats.view("a", 30_000).sanctionReason).toBe("bad signature");
    expect(stats.isSanctioned("a", 61_000)).toBe(false);
    expect(stats.view("a", 61_000).sanctionedUntil).toBeUndefined();
    stats.sanction("a", 70_000, 60_000, "again");
    stats.clearSanction("a");
    expect(stats.isSanctioned("a", 70_001)).toBe(false);
  });

  it("forgets nodes that left, keeping active and sanctioned ones, however many keys come and go", () => {
    const registered = new Set(["stays"]);
    let now = 0;
    const stats = new NodeStats({ active: (address) => registered.has(address), now: () => now });
    stats.success("stays", "text", 100);
    stats.sanction("cheat", 0, 60_000, "bad signature");
    // A stream of short-lived keys: each registers, is relayed to once, and leaves.
    const keys = 20 * NODE_STATS_SWEEP_AT;
    for (let i = 0; i < keys; i++) {
      const address = `short-${i}`;
      registered.add(address);
      stats.failure(address);
      registered.delete(address);
      now += 1;
    }
    expect(stats.size).toBeLessThanOrEqual(2 * NODE_STATS_SWEEP_AT);
    expect(stats.view("stays", now)).toMatchObject({ relays: 1, latencyMs: { text: 100 } });
    expect(stats.isSanctioned("cheat", now)).toBe(true);
    // Its sanction over and the node gone, the next sweep drops it too.
    now = 60_000;
    for (let i = 0; i < 2 * NODE_STATS_SWEEP_AT; i++) stats.failure(`later-${i}`);
    expect(stats.view("cheat", 0).sanctionReason).toBeUndefined();
    expect(stats.view("stays", now).relays).toBe(1);
  });
});
