/**
 * The markdown the benchmark prints (and the README's performance section quotes): unary,
 * streaming, open streams and soak tables, then each goal of the benchmark held or missed.
 */
import type { System } from "./load-client.js";
import type { Metrics } from "./metrics.js";

const SYSTEMS: readonly System[] = ["direct", "pocket", "portkey"];
const f = (value: number | undefined, digits = 2) =>
  value === undefined || !Number.isFinite(value) ? "–" : value.toFixed(digits);
const pair = (a: number | undefined, b: number | undefined, digits = 2) =>
  b === undefined ? f(a, digits) : `${f(a, digits)} + ${f(b, digits)}`;
const table = (head: string[], rows: string[][]) =>
  [
    `| ${head.join(" | ")} |`,
    `|${head.map(() => "---").join("|")}|`,
    ...rows.map((r) => `| ${r.join(" | ")} |`),
  ].join("\n");

function concurrencies(m: Metrics, name: string): number[] {
  return [...new Set(m.all.filter((x) => x.name === name).map((x) => x.concurrency))];
}

export function renderMarkdown(m: Metrics): string {
  const g = (name: string, system: System, c: number) => m.get(name, system, c);
  const present = SYSTEMS.filter((s) => m.all.some((x) => x.system === s));
  const unary = concurrencies(m, "rps").flatMap((c) =>
    present.map((s) => [
      String(c),
      s,
      f(g("latency_p50_ms", s, c)),
      f(g("latency_p95_ms", s, c)),
      f(g("latency_p99_ms", s, c)),
      s === "direct" ? "–" : f(g("overhead_p50_ms", s, c)),
      s === "direct" ? "–" : f(g("overhead_p99_ms", s, c)),
      f(g("rps", s, c), 0),
      s === "pocket"
        ? pair(g("gateway_cpu_s_per_1k", s, c), g("node_cpu_s_per_1k", s, c))
        : f(g("cpu_s_per_1k", s, c)),
      pair(g("peak_rss_mb", s, c), g("node_peak_rss_mb", s, c), 0),
      f(g("errors", s, c), 0),
    ]),
  );
  const streams = concurrencies(m, "ttft_p50_ms").flatMap((c) =>
    present.map((s) => [
      String(c),
      s,
      f(g("ttft_p50_ms", s, c)),
      s === "direct" ? "–" : f(g("ttft_overhead_p50_ms", s, c)),
      s === "direct" ? "–" : f(g("ttft_overhead_p99_ms", s, c)),
      f(g("inter_token_p50_ms", s, c)),
      s === "direct" ? "–" : f(g("inter_token_overhead_p50_ms", s, c)),
    ]),
  );
  const open = concurrencies(m, "open_streams").flatMap((c) =>
    present.map((s) => [
      s,
      `${f(g("open_streams", s, c), 0)} / ${c}`,
      pair(g("open_streams_rss_mb", s, c), g("node_open_streams_rss_mb", s, c), 0),
      pair(g("open_streams_peak_rss_mb", s, c), g("node_open_streams_peak_rss_mb", s, c), 0),
    ]),
  );
  const soak = ["gateway", "node"].map((role) => [
    role,
    f(g(`soak_${role}_rss_start_mb`, "pocket", 0), 0),
    f(g(`soak_${role}_rss_warm_mb`, "pocket", 0), 0),
    f(g(`soak_${role}_rss_end_mb`, "pocket", 0), 0),
    f(g(`soak_${role}_rss_growth_mb`, "pocket", 0), 1),
  ]);
  return [
    "#### Unary (latency ms; overhead = this path's percentile minus direct's; pocket CPU and RSS: gateway + node)",
    table(
      [
        "conc.",
        "path",
        "p50",
        "p95",
        "p99",
        "+p50",
        "+p99",
        "req/s",
        "CPU s / 1k req",
        "peak RSS MB",
        "errors",
      ],
      unary,
    ),
    "",
    "#### Streaming (ms)",
    table(["conc.", "path", "TTFT p50", "TTFT +p50", "TTFT +p99", "gap p50", "gap +p50"], streams),
    "",
    "#### Open streams (RSS MB: front process + node)",
    table(["path", "open", "RSS while open", "peak RSS"], open),
    "",
    `#### Soak: ${f(g("soak_requests", "pocket", 0), 0)} requests, ${f(g("soak_errors", "pocket", 0), 0)} errors, p50 ${f(g("soak_latency_p50_ms", "pocket", 0))} ms, p99 ${f(g("soak_latency_p99_ms", "pocket", 0))} ms`,
    table(["process", "RSS start", "RSS warm (10%)", "RSS end", "growth after warm"], soak),
    "",
    "#### Goals",
    ...goals(m),
  ].join("\n");
}

function goals(m: Metrics): string[] {
  const check = (label: string, value: number | undefined, ok: (v: number) => boolean, shown: string) =>
    `- ${value === undefined || !Number.isFinite(value) ? "not measured" : ok(value) ? "held" : "MISSED"}: ${label} (${shown})`;
  const o50 = m.get("overhead_p50_ms", "pocket", 1);
  const o99 = m.get("overhead_p99_ms", "pocket", 1);
  const ours = m.get("rps", "pocket", 64);
  const theirs = m.get("rps", "portkey", 64);
  const ttft = m.get("ttft_overhead_p50_ms", "pocket", 1);
  const openRss = m.all.find((x) => x.name === "open_streams_peak_rss_mb" && x.system === "pocket");
  const growth = m.get("soak_gateway_rss_growth_mb", "pocket", 0);
  return [
    check("overhead p50 <= 1 ms at concurrency 1", o50, (v) => v <= 1, `${f(o50)} ms`),
    check("overhead p99 <= 3 ms at concurrency 1", o99, (v) => v <= 3, `${f(o99)} ms`),
    check(
      "req/s at concurrency 64 >= Portkey's",
      theirs === undefined || ours === undefined ? undefined : ours - theirs,
      (v) => v >= 0,
      `${f(ours, 0)} vs ${f(theirs, 0)}`,
    ),
    check("TTFT overhead p50 <= 2 ms", ttft, (v) => v <= 2, `${f(ttft)} ms`),
    check(
      `gateway peak RSS <= 250 MB with ${openRss?.concurrency ?? "–"} open streams`,
      openRss?.value,
      (v) => v <= 250,
      `${f(openRss?.value, 0)} MB`,
    ),
    check(
      "no gateway RSS growth over the soak (<= 10 MB after warm-up)",
      growth,
      (v) => v <= 10,
      `${f(growth, 1)} MB`,
    ),
  ];
}
