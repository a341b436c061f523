import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningGateway } from "../src/app/gateway-app.js";
import { gatewayWithLinkedNode, nodeLink } from "./support/linked-node.js";
import { adminClient, type startDevNode } from "./support/live-network.js";
import { until } from "./support/until.js";

/**
 * A unary relay the gateway gives up on after sending it (here its timeout; a hedge's loser and a
 * caller gone end the same way) is recorded nowhere in the gateway's ledger. Its node may have
 * answered all the same: the answer was on its way when the gateway stopped waiting. The node's
 * claim must then not hold that answer's leaf, or a proof that picks it fails the whole claim:
 * the gateway's receipt of nothing takes it out.
 */

/**
 * A TCP link in front of the node that never passes on what the node answers a `relay` call (the
 * node has answered and recorded it) and passes every other call. `swallow`: the gateway waits in
 * vain; `reset`: the link drops the gateway's connection as the answer comes, so the gateway's call
 * fails at once, without a code and without a timeout.
 */
async function answerSwallower(upstreamPort: number, mode: "swallow" | "reset" = "swallow") {
  const counted = { swallowed: 0 };
  const link = await nodeLink(upstreamPort, (down, up) => {
    let swallow = false;
    return {
      fromGateway: (data) => {
        if (data.includes("/relay?") || data.includes("/relay ")) {
          swallow = true;
          counted.swallowed += 1;
        }
        up.write(data);
      },
      fromNode: (data) => {
        if (swallow && mode === "reset") down.destroy();
        else if (!swallow && !down.destroyed) down.write(data);
      },
    };
  });
  return Object.assign(counted, link);
}

describe.each([
  ["swallow", "its timeout"],
  ["reset", "a connection lost as the answer came"],
] as const)("a unary relay the gateway gave up on while its node answered (%s: %s)", (mode, _how) => {
  let net: Awaited<ReturnType<typeof gatewayWithLinkedNode<Awaited<ReturnType<typeof answerSwallower>>>>>;
  let gateway: RunningGateway;
  let node: Awaited<ReturnType<typeof startDevNode>>;
  let link: Awaited<ReturnType<typeof answerSwallower>>;

  beforeAll(async () => {
    // One attempt, given up on after a second.
    net = await gatewayWithLinkedNode({
      name: "abandoned",
      routing: { timeouts: { "llama-2-13b:standard": 1_000 }, retry: { maxAttempts: 1 } },
      link: (nodePort) => answerSwallower(nodePort, mode),
    });
    ({ gateway, node, link } = net);
  }, 90_000);

  afterAll(async () => {
    await net?.close();
  });

  it("leaves the node's claim without the leaf of the answer the gateway never got", async () => {
    const admin = adminClient(gateway.trpcUrl);
    const app = await admin.admin.applications.create.mutate({ name: "abandoned" });
    const key = await admin.admin.keys.create.mutate({ applicationId: app.id, name: "k" });
    const client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: key.secret, maxRetries: 0 });
    const failed = await client.chat.completions
      .create({ model: "llama-2-13b", messages: [{ role: "user", content: "Hello there" }], max_tokens: 8 })
      .then(
        () => undefined,
        (e: { status?: number }) => e,
      );
    // The caller learns the node did not answer in time, and pays nothing.
    expect(failed?.status).toBeGreaterThanOrEqual(500);
    expect(link.swallowed).toBe(1);
    // The node answered it (its session has an answered relay), though the answer never arrived.
    await until(
      () => node.node.relays.unclaimedSessions(Number.MAX_SAFE_INTEGER).length === 1,
      "the node's answered row",
    );
    const sessionId = node.node.relays.unclaimedSessions(Number.MAX_SAFE_INTEGER)[0]?.sessionId;
    expect(sessionId).toBeDefined();
    // Its claim holds the answer's leaf only until the gateway's receipt comes.
    await until(
      () => node.node.relays.leaves(sessionId!, gateway.key.address).length === 0,
      "the node's claim to leave out the answer the gateway gave up on",
    );
    const metrics = () => fetch(`${gateway.url}/metrics`).then((r) => r.text());
    await until(
      async () => /^pocket_gateway_cut_receipts_total\{outcome="settled"\} 1$/m.test(await metrics()),
      "the receipt counted settled",
    );
  }, 60_000);
});
