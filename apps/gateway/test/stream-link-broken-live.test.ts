import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningGateway } from "../src/app/gateway-app.js";
import { gatewayWithLinkedNode, nodeLink } from "./support/linked-node.js";
import { adminClient, type startDevNode } from "./support/live-network.js";
import { until } from "./support/until.js";

/**
 * A stream whose connection to its node breaks after the node has sent its closing chunk (a proxy
 * or a network between them drops it): the node finished and recorded the whole answer with its
 * leaf, the gateway never got that leaf and records the stream as broken, paying the node nothing.
 * The node's claim must then not hold the whole leaf, or a proof that picks it fails the whole
 * claim: the gateway's receipt of nothing takes it out.
 */

/**
 * A TCP link in front of the node that passes everything except the node's closing chunk of a
 * streamed relay: on the bytes that carry it, it drops both connections instead.
 */
async function finalDropper(upstreamPort: number) {
  const counted = { dropped: 0 };
  const link = await nodeLink(upstreamPort, (down, up) => ({
    fromGateway: (data) => up.write(data),
    fromNode: (data) => {
      if (data.includes('"final":')) {
        counted.dropped += 1;
        down.destroy();
        up.destroy();
      } else if (!down.destroyed) down.write(data);
    },
  }));
  return Object.assign(counted, link);
}

describe("a stream whose link to its node broke after the node finished it", () => {
  let net: Awaited<ReturnType<typeof gatewayWithLinkedNode<Awaited<ReturnType<typeof finalDropper>>>>>;
  let gateway: RunningGateway;
  let node: Awaited<ReturnType<typeof startDevNode>>;
  let link: Awaited<ReturnType<typeof finalDropper>>;

  beforeAll(async () => {
    net = await gatewayWithLinkedNode({
      name: "link-broken",
      routing: { retry: { maxAttempts: 1 } },
      link: finalDropper,
    });
    ({ gateway, node, link } = net);
  }, 90_000);

  afterAll(async () => {
    await net?.close();
  });

  it("leaves the node's claim without the whole leaf the gateway never got", async () => {
    const admin = adminClient(gateway.trpcUrl);
    const app = await admin.admin.applications.create.mutate({ name: "link-broken" });
    const key = await admin.admin.keys.create.mutate({ applicationId: app.id, name: "k" });
    const response = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${key.secret}`, "content-type": "application/json" },
      body: JSON.stringify({
        model: "llama-2-13b",
        messages: [{ role: "user", content: "Write a long story about the history of France and Spain" }],
        max_tokens: 40,
        seed: 3,
        stream: true,
      }),
    });
    expect(response.status).toBe(200);
    const text = await response.text();
    // The client reads that the stream broke, not a whole answer.
    expect(text).toContain("STREAM_INTERRUPTED");
    expect(link.dropped).toBe(1);
    // The node finished it: its session has the relay's row, with the whole answer's leaf until
    // the gateway's receipt comes.
    await until(
      () => node.node.relays.unclaimedSessions(Number.MAX_SAFE_INTEGER).length === 1,
      "the node's row of the stream",
    );
    const sessionId = node.node.relays.unclaimedSessions(Number.MAX_SAFE_INTEGER)[0]!.sessionId;
    await until(
      () => node.node.relays.leaves(sessionId, gateway.key.address).length === 0,
      "the node's claim to leave out the stream the gateway recorded as broken",
    );
    const metrics = () => fetch(`${gateway.url}/metrics`).then((r) => r.text());
    await until(
      async () => /^pocket_gateway_cut_receipts_total\{outcome="settled"\} 1$/m.test(await metrics()),
      "the receipt counted settled",
    );
  }, 60_000);
});
