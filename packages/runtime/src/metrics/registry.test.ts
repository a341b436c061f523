import { describe, expect, it } from "vitest";
import { MetricsRegistry, mergeExpositions } from "./registry.js";

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

  it("counts one series whatever order its labels come in", () => {
    const r = new MetricsRegistry();
    const c = r.counter("c", "h");
    const labels = [
      ["d", "4"],
      ["b", "2"],
      ["c", "3"],
      ["a", "1"],
    ] as const;
    for (let turn = 0; turn < 4; turn++) {
      const rotated = [...labels.slice(turn), ...labels.slice(0, turn)];
      c.inc(Object.fromEntries(turn % 2 === 0 ? rotated : rotated.reverse()));
    }
    expect(c.get({ a: "1", b: "2", c: "3", d: "4" })).toBe(4);
    expect(r.render()).toContain('c{a="1",b="2",c="3",d="4"} 4');
  });

  it("escapes label values", () => {
    const r = new MetricsRegistry();
    r.counter("c", "h").inc({ v: 'a"b\\c\nd' });
    expect(r.render()).toContain('c{v="a\\"b\\\\c\\nd"} 1');
  });

  it("merges several processes' expositions: each metric's HELP and TYPE once, every sample labelled by its process", () => {
    const of = (relays: number, seconds: number) => {
      const r = new MetricsRegistry();
      r.counter("relays_total", "Relays served").inc({ outcome: "ok" }, relays);
      r.counter("plain_total", "No labels").inc({}, relays);
      r.histogram("latency_seconds", "Latency", [1]).observe({}, seconds);
      return r.render();
    };
    const text = mergeExpositions(
      [
        { process: "1", text: of(2, 0.5) },
        { process: "2", text: of(3, 2) },
      ],
      "worker",
    );
    expect(text.match(/# HELP relays_total /g)).toHaveLength(1);
    expect(text.match(/# TYPE latency_seconds histogram/g)).toHaveLength(1);
    expect(text).toContain('relays_total{worker="1",outcome="ok"} 2');
    expect(text).toContain('relays_total{worker="2",outcome="ok"} 3');
    expect(text).toContain('plain_total{worker="2"} 3');
    expect(text).toContain('latency_seconds_bucket{worker="1",le="1"} 1');
    expect(text).toContain('latency_seconds_bucket{worker="2",le="1"} 0');
    expect(text).toContain('latency_seconds_count{worker="2"} 1');
    // Every sample line follows its own family's TYPE line.
    const lines = text.trim().split("\n");
    const typeAt = (name: string) => lines.indexOf(lines.find((l) => l.startsWith(`# TYPE ${name} `))!);
    const plainSamples = lines.map((l, i) => [l, i] as const).filter(([l]) => l.startsWith("plain_total{"));
    for (const [, i] of plainSamples) {
      expect(i).toBeGreaterThan(typeAt("plain_total"));
      expect(i).toBeLessThan(typeAt("latency_seconds"));
    }
  });
});
