import { describe, expect, it } from "vitest";
import { MetricsRegistry } from "./registry.js";

describe("MetricsRegistry", () => {
  it("renders counters, gauges and histograms in Prometheus text format", () => {
    const r = new MetricsRegistry();
    const relays = r.counter("relays_total", "Relays served");
    const queue = r.gauge("queue_depth", "Waiting relays");
    const latency = r.histogram("latency_seconds", "Latency", [0.1, 1]);
    relays.inc({ service: "llama-2-13b", outcome: "ok" });
    relays.inc({ outcome: "ok", service: "llama-2-13b" }, 2);
    queue.set({ backend: "a" }, 3);
    latency.observe({}, 0.05);
    latency.observe({}, 0.5);
    const text = r.render();
    expect(text).toContain('relays_total{outcome="ok",service="llama-2-13b"} 3');
    expect(text).toContain('queue_depth{backend="a"} 3');
    expect(text).toContain('latency_seconds_bucket{le="0.1"} 1');
    expect(text).toContain('latency_seconds_bucket{le="1"} 2');
    expect(text).toContain('latency_seconds_bucket{le="+Inf"} 2');
    expect(text).toContain("latency_seconds_count 2");
    expect(text).toContain("# TYPE latency_seconds histogram");
  });

  it("escapes label values", () => {
    const r = new MetricsRegistry();
    r.counter("c", "h").inc({ v: 'a"b\\c\nd' });
    expect(r.render()).toContain('c{v="a\\"b\\\\c\\nd"} 1');
  });
});
