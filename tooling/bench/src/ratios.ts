/**
 * Ratios between paths measured in the same run, which hold better than absolute figures on a busy
 * machine: Pocket AI against the floor (the minimal signed two-hop chain), against direct and
 * against Portkey. Stored as metrics with unit "x" (`system` is the path in the numerator).
 */
import type { System } from "./load-client.js";
import type { Metrics } from "./metrics.js";

function ratio(
  m: Metrics,
  name: string,
  numerator: [string, System],
  denominator: [string, System],
  c: number,
) {
  const a = m.get(numerator[0], numerator[1], c);
  const b = m.get(denominator[0], denominator[1], c);
  if (a === undefined || b === undefined || !Number.isFinite(a) || !Number.isFinite(b) || b === 0) return;
  m.add(name, numerator[1], c, a / b, "x");
}

const concurrencies = (m: Metrics, name: string) => [
  ...new Set(m.all.filter((x) => x.name === name).map((x) => x.concurrency)),
];

export function addRatios(m: Metrics): void {
  for (const c of concurrencies(m, "rps")) {
    for (const system of ["pocket", "portkey"] as const) {
      ratio(m, "ratio_cpu_vs_floor", ["cpu_s_per_1k", system], ["cpu_s_per_1k", "floor"], c);
      ratio(m, "ratio_rps_vs_floor", ["rps", system], ["rps", "floor"], c);
      ratio(m, "ratio_overhead_p50_vs_floor", ["overhead_p50_ms", system], ["overhead_p50_ms", "floor"], c);
    }
    ratio(m, "ratio_cpu_vs_portkey", ["cpu_s_per_1k", "pocket"], ["cpu_s_per_1k", "portkey"], c);
    ratio(m, "ratio_rps_vs_portkey", ["rps", "pocket"], ["rps", "portkey"], c);
  }
  for (const n of concurrencies(m, "scale_cpu_ms_per_token")) {
    for (const system of ["pocket", "portkey"] as const) {
      ratio(
        m,
        "scale_ratio_cpu_per_token_vs_floor",
        ["scale_cpu_ms_per_token", system],
        ["scale_cpu_ms_per_token", "floor"],
        n,
      );
    }
    ratio(
      m,
      "scale_ratio_gateway_cpu_per_token_vs_floor_a",
      ["scale_gateway_cpu_ms_per_token", "pocket"],
      ["scale_floor_a_cpu_ms_per_token", "floor"],
      n,
    );
    ratio(
      m,
      "scale_ratio_node_cpu_per_token_vs_floor_b",
      ["scale_node_cpu_ms_per_token", "pocket"],
      ["scale_floor_b_cpu_ms_per_token", "floor"],
      n,
    );
    ratio(
      m,
      "scale_ratio_cpu_per_token_vs_portkey",
      ["scale_cpu_ms_per_token", "pocket"],
      ["scale_cpu_ms_per_token", "portkey"],
      n,
    );
  }
  // Prompt size: each process's CPU per relay at the longest prompt over the shortest.
  for (const name of new Set(
    m.all.filter((x) => /^prompt_.+_cpu_ms_per_relay$/.test(x.name)).map((x) => x.name),
  )) {
    const role = name.slice("prompt_".length, -"_cpu_ms_per_relay".length);
    for (const system of new Set(m.all.filter((x) => x.name === name).map((x) => x.system))) {
      const sizes = m.all.filter((x) => x.name === name && x.system === system).map((x) => x.concurrency);
      if (sizes.length < 2) continue;
      const short = Math.min(...sizes);
      const long = Math.max(...sizes);
      const a = m.get(name, system, long);
      const b = m.get(name, system, short);
      if (a === undefined || b === undefined || !Number.isFinite(a) || !Number.isFinite(b) || b === 0)
        continue;
      m.add(`prompt_ratio_${role}_cpu_long_vs_short`, system, long, a / b, "x");
    }
  }
}
