/**
 * `pnpm bench`: the cost of crossing the Pocket AI network, next to a direct call and to Portkey's
 * gateway and to the floor (a minimal signed two-hop chain, `floor-hop.ts`), measured in one run
 * against one mock backend. Prints markdown tables with the ratios between paths and writes
 * `bench/results/latest.json` at the repository root. Flags: `--quick` (about three minutes),
 * `--soak-seconds <s>` (default 600, quick 8), `--no-portkey`, `--phases unary,stream,scale,prompt,open,soak`,
 * `--concurrency 1,64` (unary), `--streams 100,400` (scale), `--scale-token-ms <ms>` (the scale phase's
 * gap between a stream's tokens, default 33 ms, 30 tokens/s: 5 is an engine at 200 tokens/s a stream,
 * faster than one process relays 400 of them; the goals are judged at 30/s only), `--profile` (gateway, node and Portkey
 * under `--cpu-prof`, profiles in `bench/results/profiles/`), `--key-rpm <n>` and `--key-tpm <n>` (rate
 * limits on the Pocket AI path's API key, so each relay checks and records its rate window),
 * `--no-steady` (skip the steady-state warm-up of `steady-warmup.ts`: first seconds, not a server's
 * steady state), `--gateways <n>` and `--node-workers <n>` (the Pocket AI path as n gateways taking
 * the load in turn before one node of n worker processes: a node in front of a GPU, on a machine
 * with the cores for it; CPU summed over the processes), `--nodes <n>` (n nodes in every session:
 * unary text relays are then hedged, as in a deployment), `--prebuilt` (run the bundles already in
 * `dist/`, as `pack-bench.ts` leaves them for a machine without the workspace's tooling).
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { usePrebuiltRunners } from "./child-process.js";
import { benchFlags } from "./cli-args.js";
import { makeLoadClient } from "./load-client.js";
import { describeMachine } from "./machine.js";
import { Metrics } from "./metrics.js";
import { runOpenStreamsPhase } from "./open-streams-phase.js";
import { PLANS } from "./plans.js";
import { runPromptPhase } from "./prompt-phase.js";
import { addRatios } from "./ratios.js";
import { renderMarkdown } from "./report.js";
import { chatBody } from "./request-bodies.js";
import { runScalePhase } from "./scale-phase.js";
import { runSoakPhase } from "./soak-phase.js";
import { warmToSteadyState } from "./steady-warmup.js";
import { runStreamPhase } from "./stream-phase.js";
import { type Systems, startSystems } from "./systems.js";
import { runUnaryPhase } from "./unary-phase.js";

const values = benchFlags(
  {
    quick: { type: "boolean", default: false },
    "soak-seconds": { type: "string" },
    "no-portkey": { type: "boolean", default: false },
    profile: { type: "boolean", default: false },
    phases: { type: "string", default: "unary,stream,scale,prompt,open,soak" },
    concurrency: { type: "string" },
    streams: { type: "string" },
    "scale-token-ms": { type: "string" },
    "key-rpm": { type: "string" },
    "key-tpm": { type: "string" },
    "no-steady": { type: "boolean", default: false },
    gateways: { type: "string" },
    "node-workers": { type: "string" },
    nodes: { type: "string" },
    prebuilt: { type: "boolean", default: false },
  },
  "bench [--quick] [--phases unary,stream,scale,prompt,open,soak] [--concurrency 1,64] [--streams 100,400] [--no-portkey] [--profile] [--soak-seconds S] [--scale-token-ms MS] [--key-rpm N] [--key-tpm N] [--no-steady] [--gateways N] [--node-workers N] [--nodes N] [--prebuilt]",
);
const mode = values.quick ? "quick" : "full";
if (values.prebuilt) usePrebuiltRunners();
const plan = {
  ...PLANS[mode],
  unary:
    values.concurrency === undefined
      ? PLANS[mode].unary
      : { ...PLANS[mode].unary, concurrencies: values.concurrency.split(",").map(Number) },
  scale: {
    ...PLANS[mode].scale,
    ...(values.streams === undefined ? {} : { streams: values.streams.split(",").map(Number) }),
    ...(values["scale-token-ms"] === undefined ? {} : { tokenDelayMs: tokenGap(values["scale-token-ms"]) }),
  },
};
/** `--scale-token-ms`: a whole number of milliseconds from 1 to 1000, or the run stops with what was wrong. */
function tokenGap(value: string): number {
  const ms = Number(value);
  if (!Number.isInteger(ms) || ms < 1 || ms > 1000) {
    console.error(`--scale-token-ms takes a whole number of milliseconds from 1 to 1000, not "${value}"`);
    process.exit(2);
  }
  return ms;
}
/** A flag that counts processes: a whole number from 1 to 64, or the run stops with what was wrong. */
function processCount(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 64) {
    console.error(`--${flag} takes a whole number from 1 to 64, not "${value}"`);
    process.exit(2);
  }
  return n;
}
const soakSeconds = values["soak-seconds"] === undefined ? plan.soak.seconds : Number(values["soak-seconds"]);
const results = fileURLToPath(new URL("../../../bench/results/", import.meta.url));
const log = (line: string) =>
  console.error(`[bench ${((performance.now() - t0) / 1000).toFixed(1)}s] ${line}`);
const t0 = performance.now();

/** Polls the Pocket AI path until the node has registered and a relay goes through (30 s at most). */
async function waitForPocket(systems: Systems) {
  const pocket = systems.of("pocket");
  if (pocket === undefined) return;
  const client = makeLoadClient(pocket.target, 1);
  const body = chatBody("pocket", { stream: false, maxTokens: 4 });
  // Requests go to the fronts in turn: every gateway must answer, one after another.
  const fronts = 1 + (pocket.target.more?.length ?? 0);
  let answered = 0;
  for (let attempt = 0; attempt < 150 * fronts; attempt++) {
    const result = await client.slice(body, 1, 1, 5_000);
    answered = result.errors === 0 ? answered + 1 : 0;
    if (answered === fronts) return client.close();
    if (attempt === 150 * fronts - 1)
      throw new Error(`the Pocket AI path never answered: ${result.firstError}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function main() {
  const profileDir = values.profile ? `${results}profiles` : undefined;
  if (profileDir !== undefined) mkdirSync(profileDir, { recursive: true });
  const systems = await startSystems({
    tokenDelayMs: plan.stream.tokenDelayMs,
    portkey: !values["no-portkey"],
    profileDir,
    keyLimits: {
      rpm: values["key-rpm"] === undefined ? undefined : Number(values["key-rpm"]),
      tpm: values["key-tpm"] === undefined ? undefined : Number(values["key-tpm"]),
    },
    gateways: processCount("gateways", values.gateways),
    nodeWorkers: processCount("node-workers", values["node-workers"]),
    nodes: processCount("nodes", values.nodes),
  });
  for (const note of systems.notes) log(note);
  const metrics = new Metrics();
  try {
    await waitForPocket(systems);
    log(`systems up: ${systems.list.map((s) => s.target.system).join(", ")}`);
    const phases = new Set(values.phases.split(","));
    if (!values["no-steady"]) await warmToSteadyState(systems, plan.steady, metrics, log);
    if (phases.has("unary")) await runUnaryPhase(systems, plan.unary, metrics, log);
    if (phases.has("stream")) await runStreamPhase(systems, plan.stream, metrics, log);
    if (phases.has("scale")) await runScalePhase(systems, plan.scale, metrics, log);
    if (phases.has("prompt")) await runPromptPhase(systems, plan.prompt, metrics, log);
    if (phases.has("open")) await runOpenStreamsPhase(systems, plan.openStreams, metrics, log);
    if (phases.has("soak")) await runSoakPhase(systems, { ...plan.soak, seconds: soakSeconds }, metrics, log);
  } finally {
    await systems.stop();
  }
  const machine = describeMachine(mode, [
    ...systems.notes,
    `mock: ${plan.stream.tokenDelayMs} ms between streamed tokens (${plan.scale.tokenDelayMs} ms at scale, ${plan.scale.tokens} tokens a stream, ${plan.scale.seconds} s per path); soak ${soakSeconds} s at ${plan.soak.rate}/s`,
  ]);
  addRatios(metrics);
  const markdown = renderMarkdown(metrics);
  mkdirSync(results, { recursive: true });
  writeFileSync(`${results}latest.json`, `${JSON.stringify({ machine, metrics: metrics.all }, null, 2)}\n`);
  writeFileSync(`${results}latest.md`, `${markdown}\n`);
  console.log(
    `### Benchmark (${mode}) — ${machine.date.slice(0, 10)}, ${machine.cpu}, ${machine.cores} cores, Node ${machine.node}\n`,
  );
  console.log(markdown);
  log(`wrote ${results}latest.json`);
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(e);
    process.exit(1);
  },
);
