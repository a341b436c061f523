/**
 * Memory with many streams open at once: `count` streams, one system after another. Each gets its
 * first token at once and its second only after `holdMs`, longer than opening them all takes, so
 * every stream opened is still open when the RSS of each of the system's processes is read: once
 * every stream has its first token (or `maxWaitMs` passed; opening is CPU-bound, each open being a
 * signed relay). Then the client hangs up on all of them (the path must settle 1,000 departures).
 */
import { makeLoadClient, type SliceResult } from "./load-client.js";
import type { Metrics } from "./metrics.js";
import { peakRssMb, resetPeakRss, rssMb } from "./proc-stats.js";
import { chatBody } from "./request-bodies.js";
import type { Systems } from "./systems.js";

export interface OpenStreamsPlan {
  readonly count: number;
  readonly holdMs: number;
  readonly maxWaitMs: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function runOpenStreamsPhase(
  systems: Systems,
  plan: OpenStreamsPlan,
  metrics: Metrics,
  log: (line: string) => void,
) {
  for (const s of systems.list) {
    const system = s.target.system;
    const client = makeLoadClient(s.target, plan.count);
    const body = chatBody(system, { stream: true, maxTokens: 2, note: `delay=${plan.holdMs}` });
    for (const p of s.processes) resetPeakRss(p.pid);
    const out: SliceResult = { latencies: [], ttfts: [], gaps: [], tokens: 0, errors: 0, elapsedMs: 0 };
    const started = performance.now();
    const all = Promise.all(Array.from({ length: plan.count }, () => client.one(body, out)));
    while (out.ttfts.length + out.errors < plan.count && performance.now() - started < plan.maxWaitMs) {
      await sleep(50);
    }
    const open = out.ttfts.length - out.latencies.length;
    const openedMs = performance.now() - started;
    const rss = s.processes.map((p) => rssMb(p.pid));
    for (const [i, p] of s.processes.entries()) {
      const prefix = i === 0 ? "" : `${p.role}_`;
      metrics.add(`${prefix}open_streams_rss_mb`, system, plan.count, rss[i] ?? 0, "MB");
    }
    metrics.add("open_streams", system, plan.count, open, "count");
    for (const [i, p] of s.processes.entries()) {
      const prefix = i === 0 ? "" : `${p.role}_`;
      metrics.add(`${prefix}open_streams_peak_rss_mb`, system, plan.count, peakRssMb(p.pid), "MB");
    }
    metrics.add("open_streams_errors", system, plan.count, out.errors, "count");
    const errors = out.errors;
    // Hang up on every stream rather than wait out the hold.
    client.close();
    await all;
    log(
      `open streams ${system}: ${open}/${plan.count} open after ${openedMs.toFixed(0)} ms, ` +
        `${s.processes.map((p, i) => `${p.role} ${(rss[i] ?? 0).toFixed(0)} MB`).join(", ")}, errors=${errors}` +
        (errors > 0 && out.firstError ? ` (${out.firstError})` : ""),
    );
  }
}
