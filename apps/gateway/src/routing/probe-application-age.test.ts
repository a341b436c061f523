import { createHash } from "node:crypto";
import { deriveSessionId, isNodeInSession, keyPairFromPrivateKey } from "@pocket-ai/protocol";
import { describe, expect, it } from "vitest";
import { DEFAULT_PROBE_APPLICATIONS, ProbeApplications } from "./probe-applications.js";
import { seededRandom } from "./selection-math.js";

const HOUR = 3_600_000;
const sha256 = (text: string) => createHash("sha256").update(text).digest();
const nodes = Array.from({ length: 60 }, (_, i) => ({
  address: keyPairFromPrivateKey(sha256(`age-test-node-${i}`)).address,
}));
const watched = nodes[0]!.address;
const counter = (prefix: string) => {
  let n = 0;
  return () => `pokt1${sha256(`${prefix}-${n++}`).toString("hex").slice(0, 32)}`;
};
const holds = (session: number) => (app: string) =>
  isNodeInSession(deriveSessionId(app, "llama-2-13b", session), nodes, 6, watched);

/**
 * A node keeps, per application address, when it first served it. Customer applications are
 * accounts that stay for as long as the customer does; probe applications retire after at most
 * `lifetimeMs[1]` (48 hours). The node's rule: an application first seen less than two days ago
 * may be the evaluator's, any older one is a customer.
 */
describe("the age of a probe's application", () => {
  it.fails("tells a node nothing once it has watched for longer than a probe application lives", () => {
    const probeApps = new ProbeApplications(DEFAULT_PROBE_APPLICATIONS, seededRandom(3), counter("probe"));
    const mintCustomer = counter("customer");
    const customers = Array.from({ length: 200 }, () => mintCustomer());
    const firstSeen = new Map<string, number>();
    const verdicts = { probes: 0, probesFlagged: 0, customers: 0, customersFlagged: 0 };
    const serve = (app: string, now: number, probe: boolean) => {
      const first = firstSeen.get(app) ?? now;
      firstSeen.set(app, first);
      if (now < 3 * 24 * HOUR) return; // the node's first days: it is still learning who is who
      const flagged = now - first < 48 * HOUR;
      if (probe) {
        verdicts.probes += 1;
        if (flagged) verdicts.probesFlagged += 1;
      } else {
        verdicts.customers += 1;
        if (flagged) verdicts.customersFlagged += 1;
      }
    };
    // Eight days of hourly sessions: the evaluator probes the node a few times an hour, and each
    // customer whose session holds the node sends it a relay.
    for (let hour = 0; hour < 8 * 24; hour++) {
      const now = hour * HOUR;
      const inSession = holds(hour);
      for (let i = 0; i < 4; i++) {
        const app = probeApps.pick(now, inSession);
        if (app !== undefined) serve(app, now + i, true);
      }
      for (const app of customers) if (inSession(app)) serve(app, now, false);
    }
    const caught = verdicts.probesFlagged / verdicts.probes;
    const wrong = verdicts.customersFlagged / verdicts.customers;
    console.info(
      `probes flagged by their application's age: ${(caught * 100).toFixed(1)}% of ${verdicts.probes}; customer relays flagged: ${(wrong * 100).toFixed(1)}% of ${verdicts.customers}`,
    );
    // A rule that tells nothing flags probes and customers alike.
    expect(caught - wrong).toBeLessThan(0.05);
  });
});
