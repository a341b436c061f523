/**
 * The soak: unary calls through Pocket AI at a fixed rate for `seconds`, open loop (a request
 * starts every 1/rate s whether or not the last has finished, up to `maxInFlight`). RSS of the
 * gateway and node is sampled about 200 times over the soak: at the start, over each tenth after
 * the first, and over the last tenth (end). Growth is the end less the lowest tenth after warm-up
 * (second to ninth): what a leak looks like, also when memory the phase before left behind is
 * still being given back early in the soak. Each figure is the median of its window, so one sample
 * taken just before or after a collection decides nothing.
 */
import { makeLoadClient, type SliceResult } from "./load-client.js";
import { type Metrics, percentile } from "./metrics.js";
import { rssMb } from "./proc-stats.js";
import { chatBody } from "./request-bodies.js";
import type { Systems } from "./systems.js";

export interface SoakPlan {
  readonly seconds: number;
  readonly rate: number;
  readonly maxInFlight: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function runSoakPhase(
  systems: Systems,
  plan: SoakPlan,
  metrics: Metrics,
  log: (line: string) => void,
) {
  const pocket = systems.of("pocket");
  if (pocket === undefined || plan.seconds <= 0) return;
  const client = makeLoadClient(pocket.target, plan.maxInFlight);
  const body = chatBody("pocket", { stream: false, maxTokens: 16 });
  const out: SliceResult = { latencies: [], ttfts: [], gaps: [], tokens: 0, errors: 0, elapsedMs: 0 };
  const sample = () => pocket.processes.map((p) => rssMb(p.pid));
  const start = sample();
  let inFlight = 0;
  let dropped = 0;
  const pending = new Set<Promise<void>>();
  const began = performance.now();
  const totalMs = plan.seconds * 1000;
  const samples: { readonly at: number; readonly rss: number[] }[] = [{ at: 0, rss: start }];
  const sampler = setInterval(
    () => samples.push({ at: performance.now() - began, rss: sample() }),
    Math.max(100, totalMs / 200),
  );
  for (let i = 0; i < plan.rate * plan.seconds; i++) {
    const due = (i * 1000) / plan.rate;
    const wait = due - (performance.now() - began);
    if (wait > 0) await sleep(wait);
    if (inFlight >= plan.maxInFlight) {
      dropped += 1;
      continue;
    }
    inFlight += 1;
    const call = client.one(body, out).finally(() => {
      inFlight -= 1;
      pending.delete(call);
    });
    pending.add(call);
  }
  await Promise.all(pending);
  clearInterval(sampler);
  const finished = performance.now() - began;
  samples.push({ at: finished, rss: sample() });
  const tenths = Array.from({ length: 8 }, (_, k) =>
    windowMedians(samples, finished * (0.1 * (k + 1)), finished * (0.1 * (k + 2))),
  );
  const warm = tenths[0] ?? [];
  const low = pocket.processes.map((_, i) => Math.min(...tenths.map((t) => t[i] ?? 0)));
  const end = windowMedians(samples, finished * 0.9, finished);
  for (const [i, p] of pocket.processes.entries()) {
    metrics.add(`soak_${p.role}_rss_start_mb`, "pocket", 0, start[i] ?? 0, "MB");
    metrics.add(`soak_${p.role}_rss_warm_mb`, "pocket", 0, warm[i] ?? 0, "MB");
    metrics.add(`soak_${p.role}_rss_low_mb`, "pocket", 0, low[i] ?? 0, "MB");
    metrics.add(`soak_${p.role}_rss_end_mb`, "pocket", 0, end[i] ?? 0, "MB");
    metrics.add(`soak_${p.role}_rss_growth_mb`, "pocket", 0, (end[i] ?? 0) - (low[i] ?? 0), "MB");
  }
  metrics.add("soak_requests", "pocket", 0, out.latencies.length, "count");
  metrics.add("soak_errors", "pocket", 0, out.errors + dropped, "count");
  metrics.add("soak_latency_p50_ms", "pocket", 0, percentile(out.latencies, 50), "ms");
  metrics.add("soak_latency_p99_ms", "pocket", 0, percentile(out.latencies, 99), "ms");
  log(
    `soak ${plan.seconds} s at ${plan.rate}/s: ${out.latencies.length} ok, ${out.errors} errors, ${dropped} dropped; ` +
      pocket.processes
        .map(
          (p, i) =>
            `${p.role} ${start[i]?.toFixed(0)} → ${warm[i]?.toFixed(0)} (low ${low[i]?.toFixed(0)}) → ${end[i]?.toFixed(0)} MB`,
        )
        .join(", "),
  );
  client.close();
}

/**
 * Per process, the median RSS of the samples taken between `from` and `to` ms into the soak (the
 * sample nearest the window when none falls in it).
 */
export function windowMedians(
  samples: readonly { readonly at: number; readonly rss: readonly number[] }[],
  from: number,
  to: number,
): number[] {
  let inside = samples.filter((s) => s.at >= from && s.at <= to);
  if (inside.length === 0) {
    const middle = (from + to) / 2;
    const nearest = samples.reduce((a, b) => (Math.abs(b.at - middle) < Math.abs(a.at - middle) ? b : a));
    inside = [nearest];
  }
  const processes = inside[0]?.rss.length ?? 0;
  return Array.from({ length: processes }, (_, i) =>
    percentile(
      inside.map((s) => s.rss[i] ?? 0),
      50,
    ),
  );
}
