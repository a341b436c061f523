import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { DEFAULT_PROBE_APPLICATIONS, ProbeApplications } from "./probe-applications.js";
import { seededRandom } from "./selection-math.js";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const sha256 = (text: string) => createHash("sha256").update(text).digest();
const counter = (prefix: string) => {
  let n = 0;
  return () => `pokt1${sha256(`${prefix}-${n++}`).toString("hex").slice(0, 32)}`;
};
/**
 * Whether an application's session `session` holds the watched node: one time in ten, as 6 nodes
 * of 60 are drawn for a session, decided by a hash of the two (the protocol's own draw hashes
 * every candidate node and costs some 25 µs; months of sessions need a cheaper one). Remembered
 * per session, as a node's session membership is.
 */
const holds = (session: number) => {
  const known = new Map<string, boolean>();
  return (app: string) => {
    let held = known.get(app);
    if (held === undefined) {
      held = sha256(`${app}:${session}`).readUInt32BE(0) < 0x1999_9999;
      known.set(app, held);
    }
    return held;
  };
};

/**
 * A node keeps, per application address, when it first served it, and takes any application it
 * first served less than two days ago for a possible probe. Customers here are the worst case for
 * probes: 60 accounts that all stay for the whole simulation (no customer is ever new to the node
 * after its first days). The gateway's probe pool ran `gatewayDays` before the node started
 * watching; the node watches `watchDays` of hourly sessions and judges every relay after its third
 * day. The evaluator probes it `probesPerHour` times an hour; each customer whose session holds it
 * sends one relay.
 */
function watch(gatewayDays: number, watchDays: number, learnDays: number, seed: number) {
  const probeApps = new ProbeApplications(
    DEFAULT_PROBE_APPLICATIONS,
    seededRandom(seed),
    counter(`probe-${seed}`),
  );
  for (let hour = 0; hour < gatewayDays * 24; hour++) probeApps.addresses(hour * HOUR);
  const mintCustomer = counter(`customer-${seed}`);
  const customers = Array.from({ length: 60 }, () => mintCustomer());
  const firstSeen = new Map<string, number>();
  const verdicts = { probes: 0, probesFlagged: 0, customers: 0, customersFlagged: 0 };
  const start = gatewayDays * DAY;
  const serve = (app: string, now: number, probe: boolean) => {
    const first = firstSeen.get(app) ?? now;
    firstSeen.set(app, first);
    if (now < start + learnDays * DAY) return; // the node's first days: it is still learning who is who
    const flagged = now - first < 2 * DAY;
    if (probe) {
      verdicts.probes += 1;
      if (flagged) verdicts.probesFlagged += 1;
    } else {
      verdicts.customers += 1;
      if (flagged) verdicts.customersFlagged += 1;
    }
  };
  for (let hour = 0; hour < watchDays * 24; hour++) {
    const now = start + hour * HOUR;
    const inSession = holds(gatewayDays * 24 + hour);
    for (let i = 0; i < 6; i++) {
      const app = probeApps.pick(now, inSession);
      if (app !== undefined) serve(app, now + i, true);
    }
    for (const app of customers) if (inSession(app)) serve(app, now, false);
  }
  const caught = verdicts.probesFlagged / verdicts.probes;
  const wrong = verdicts.customersFlagged / verdicts.customers;
  console.info(
    `gateway up ${gatewayDays} days, node watching ${watchDays}: probes flagged by their application's age ${(caught * 100).toFixed(1)}% of ${verdicts.probes}; customer relays flagged ${(wrong * 100).toFixed(1)}% of ${verdicts.customers}`,
  );
  return { caught, wrong };
}

describe("the age of a probe's application", () => {
  // A rule that tells nothing flags probes and customers alike. Against customers who never
  // change, no turnover of probe applications is invisible: with lifetimes drawn log-uniformly
  // over 7–180 days (mean 53.3), an application spends 2/53.3 = 3.8% of its life in its first two
  // days, and less than that share of its relays, since a new application's share of probes grows
  // over its first week. Relays cluster by application, so a single seed's share wanders: the
  // steady state is averaged over three. The bound, 5 points, leaves a node that serves every
  // young application well the least of the probes (the 6–48 hour lifetimes gave it all of them).
  it("tells a node little when it starts watching with the gateway", () => {
    const { caught, wrong } = watch(0, 8, 3, 3);
    expect(caught - wrong).toBeLessThan(0.05);
  });

  it("tells a node little once the gateway's applications have come and gone for months", () => {
    let caught = 0;
    let wrong = 0;
    const seeds = [11, 12, 13];
    for (const seed of seeds) {
      const result = watch(240, 30, 7, seed);
      caught += result.caught / seeds.length;
      wrong += result.wrong / seeds.length;
    }
    expect(caught - wrong).toBeLessThan(0.05);
  });
});
