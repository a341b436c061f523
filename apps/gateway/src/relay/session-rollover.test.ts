import { sessionNumberAt, sessionWindow } from "@pocket-ai/protocol";
import { Either } from "effect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { settableClock } from "../../test/support/settable-clock.js";
import { startTestNetwork, type TestNetwork } from "../../test/support/test-network.js";
import { dispatchRequest, registered, streamed, unary } from "../../test/support/test-requests.js";
import type { DispatchStreamEvent } from "./dispatcher.js";

// Short sessions and a grace shorter than the clock offsets: only signing again for the session
// a node's refusal points to (and the node's tolerance of a session that starts early) keeps
// relays from failing at a rollover.
const SESSION = { mode: "time", genesisMs: 0, sessionLengthMs: 20_000, graceMs: 1_000 } as const;

/** The gateway's clock and every node's clock, both set by the test: no sleeps decide anything. */
const { clock: gatewayClock, time: gateway } = settableClock();
let nodeOffset = 0;
const nodeNow = () => gateway.at + nodeOffset;

let net: TestNetwork;
beforeAll(async () => {
  net = await startTestNetwork({ session: SESSION, hedge: { enabled: false } }, { clock: gatewayClock });
  for (let i = 0; i < 3; i++) await net.startNode({ now: nodeNow });
  await registered(net, 3);
}, 60_000);
afterAll(async () => {
  await net.close();
});

const final = (events: DispatchStreamEvent[]) =>
  events[events.length - 1] as Extract<DispatchStreamEvent, { type: "final" }>;

describe("session rollover with clocks that differ between gateway and node", () => {
  it("loses no relay within 2.5 s either side of a rollover, with the node's clock 2 s ahead or behind", async () => {
    // The next rollover after the real time (nodes registered moments ago stay fresh around it).
    const boundary = sessionWindow(SESSION, sessionNumberAt(SESSION, Date.now())).end;
    const failures: string[] = [];
    let relays = 0;
    for (const offset of [-2_000, 2_000, 0]) {
      nodeOffset = offset;
      for (let step = -2_500; step <= 2_500; step += 500) {
        gateway.at = boundary + step;
        const body = { prompt: `Rollover ${offset} ${step}`, max_tokens: 3 };
        const one = await unary(net, dispatchRequest("llama-2-13b", body));
        relays += 1;
        if (Either.isLeft(one)) failures.push(`unary ${offset}/${step}: ${one.left.code} ${one.left.detail}`);
        const events = await streamed(net, dispatchRequest("llama-2-13b", { ...body, stream: true }));
        relays += 1;
        if (Either.isLeft(events)) failures.push(`stream ${offset}/${step}: ${events.left.code}`);
        else if (final(events.right).outcome !== "ok") failures.push(`stream ${offset}/${step}: interrupted`);
      }
    }
    expect(relays).toBe(66);
    expect(failures).toEqual([]);
  }, 120_000);
});
