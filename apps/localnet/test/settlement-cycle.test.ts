import { sessionWindow, weekIdOf } from "@pocket-ai/protocol";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sleep, startTestNetwork } from "./e2e-helpers.js";

let t: Awaited<ReturnType<typeof startTestNetwork>>;
beforeAll(async () => {
  // No hedging: on a loaded machine a hedge would make two paid relays of one request, and this
  // test counts one relay per request.
  t = await startTestNetwork({ hedging: false });
}, 60_000);
afterAll(async () => {
  await t?.stop();
});

describe("sessions and settlement across the whole network", () => {
  it("loses no request across session rollovers, then claims, proves, mints, tallies and burns by the seed's arithmetic", async () => {
    const session = t.config.session;
    if (session.mode !== "time") throw new Error("the test network uses time-based sessions");
    const startedSession = Math.floor(Date.now() / session.sessionLengthMs);
    // Traffic for a little over two sessions, four requests at a time: every one must succeed.
    const deadline = Date.now() + 2.2 * session.sessionLengthMs;
    let sent = 0;
    const failures: unknown[] = [];
    await Promise.all(
      Array.from({ length: 4 }, async (_, worker) => {
        while (Date.now() < deadline) {
          sent += 1;
          await t.client.chat.completions
            .create({
              model: "llama-2-13b",
              messages: [{ role: "user", content: `Question ${worker}-${sent}: name a colour.` }],
              max_tokens: 4,
            })
            .catch((e: unknown) => failures.push(e));
        }
      }),
    );
    const lastSession = Math.floor(Date.now() / session.sessionLengthMs);
    expect(failures).toEqual([]);
    expect(lastSession - startedSession).toBeGreaterThanOrEqual(2);

    // Wait (up to a minute on a loaded machine) until every session with traffic has ended, plus
    // grace, and its claims are proven.
    const lastEnd = sessionWindow(session, lastSession).end + session.graceMs;
    const weekId = weekIdOf(sessionWindow(session, startedSession).start);
    let tally = await t.net.admin.admin.settlement.tally.week.query({ weekId });
    for (let i = 0; i < 240; i++) {
      tally = await t.net.admin.admin.settlement.tally.week.query({ weekId });
      const claims = await t.net.admin.admin.settlement.claims.list.query({ weekId });
      const settled = claims.length > 0 && claims.every((c: { status: string }) => c.status !== "claimed");
      if (Date.now() > lastEnd + 2_500 && settled && tally.totals.relaysProven === sent) break;
      await sleep(250);
    }

    // Every relay the gateway sent was claimed and proven by the node that served it.
    expect(tally.totals.relaysProven).toBe(sent);
    expect(tally.unsettled).toEqual({ claimed: 0, rejected: 0 });
    // The seed: $0.00075 per call at $0.25 per POKT mints 0.003 POKT = 3000 uPOKT per relay...
    expect(tally.rateMicroUsdPerPokt).toBe(250_000);
    expect(BigInt(tally.totals.mintedUpokt)).toBe(BigInt(sent) * 3000n);
    // ...and the portal operator is charged exactly what was minted, which is burned 1:1.
    expect(tally.totals.chargedUpokt).toBe(tally.totals.mintedUpokt);
    expect(tally.totals.burnedUpokt).toBe(tally.totals.mintedUpokt);
    expect(BigInt(tally.totals.fiatMicroUsd)).toBe(BigInt(sent) * 750n);
    for (const row of tally.rows) expect(row.burnedUpokt).toBe(row.mintedUpokt);
  }, 120_000);
});
