/**
 * A busy node's claim, built both ways in the same run: the baseline reads every leaf row as an
 * object (`RelayStore.leaves`) and builds the tree at once (`buildClaimTree`); the node reads them
 * lean, a page at a time, and builds the tree in slices with turns of the event loop between
 * (`claimTreeOf`). Each runs in a fresh process (for its peak RSS) against a copy of one ledger
 * file, and prints its time, the longest the event loop waited for a timer meanwhile, and the
 * memory it added. Not a test: the figures depend on the machine.
 *
 *   node --import tsx bench/claim-build.ts [relays, default 600000]
 */
import { execFileSync } from "node:child_process";
import { copyFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { buildClaimTree, type ClaimTree, claimRoot } from "@pocket-ai/protocol";
import { Effect } from "effect";
import { claimTreeOf } from "../src/claims/claim-leaves.js";
import { RelayStore } from "../src/db/relay-store.js";
import { insertAnsweredRows } from "../test/helpers/claim-rows.js";
import { openLedger } from "../test/helpers/ledger-fixtures.js";

const SESSION = "busy-session";
const [, , way, file] = process.argv;

if (way === "baseline" || way === "sliced") {
  const { db, close } = await openLedger(file);
  const relays = new RelayStore(db);
  const rssBefore = process.memoryUsage().rss;
  let longestWait = 0;
  let last = performance.now();
  const timer = setInterval(() => {
    const now = performance.now();
    longestWait = Math.max(longestWait, now - last);
    last = now;
  }, 1);
  await new Promise((resolve) => setTimeout(resolve, 20));
  const start = performance.now();
  let tree: ClaimTree | undefined;
  if (way === "baseline") {
    const leaves = relays.leaves(SESSION, "gw");
    tree = buildClaimTree(leaves.map((l) => ({ hash: l.leafHash, computeUnits: l.computeUnits })));
  } else {
    tree = await Effect.runPromise(claimTreeOf(relays, SESSION, "gw"));
  }
  const ms = performance.now() - start;
  longestWait = Math.max(longestWait, performance.now() - last);
  clearInterval(timer);
  const mb = (bytes: number) => Math.round(bytes / 1e6);
  console.log(
    JSON.stringify({
      root: claimRoot(tree!).root,
      ms: Math.round(ms),
      longestWaitMs: Math.round(longestWait),
      rssAddedMb: mb(process.memoryUsage().rss - rssBefore),
      peakRssMb: mb(process.resourceUsage().maxRSS * 1_000),
    }),
  );
  await close();
} else {
  const relaysCount = Number(way ?? 600_000);
  const folder = mkdtempSync(join(tmpdir(), "pocket-claim-bench-"));
  const ledger = join(folder, "node.sqlite");
  const { db, close } = await openLedger(ledger);
  const session = { sessionId: SESSION, gatewayAddress: "gw", applicationAddress: "app", serviceId: "s" };
  insertAnsweredRows(db, { ...session, sessionNumber: 0, sessionEnd: 1_000 }, relaysCount);
  await close();
  const run = (name: string) => {
    const copy = join(folder, `${name}.sqlite`);
    copyFileSync(ledger, copy);
    const out = execFileSync(process.execPath, [
      ...process.execArgv,
      fileURLToPath(import.meta.url),
      name,
      copy,
    ]);
    return JSON.parse(out.toString()) as {
      root: string;
      ms: number;
      longestWaitMs: number;
      rssAddedMb: number;
      peakRssMb: number;
    };
  };
  const baseline = run("baseline");
  const sliced = run("sliced");
  rmSync(folder, { recursive: true, force: true });
  if (baseline.root !== sliced.root) throw new Error("the two ways built different roots");
  console.log(
    `| ${relaysCount} relays | time (ms) | longest event-loop wait (ms) | RSS added (MB) | peak RSS (MB) |`,
  );
  console.log("|---|---|---|---|---|");
  for (const [name, r] of [
    ["baseline", baseline],
    ["sliced", sliced],
  ] as const)
    console.log(`| ${name} | ${r.ms} | ${r.longestWaitMs} | ${r.rssAddedMb} | ${r.peakRssMb} |`);
  console.log(
    `sliced/baseline: time ×${(sliced.ms / baseline.ms).toFixed(2)}, longest wait ×${(sliced.longestWaitMs / baseline.longestWaitMs).toFixed(3)}, RSS added ×${(sliced.rssAddedMb / baseline.rssAddedMb).toFixed(2)}`,
  );
}
