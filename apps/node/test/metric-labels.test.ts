import { afterEach, describe, expect, it } from "vitest";
import { type NodeHarness, startTestNode, TestGateway } from "./helpers/node-harness.js";

let harness: NodeHarness | undefined;
afterEach(async () => {
  await harness?.stop();
  harness = undefined;
});

describe("the node's metric labels", () => {
  it("stay bounded whatever service ids relays name, from gateways the node does not serve", async () => {
    const served = new TestGateway();
    harness = await startTestNode({
      gateways: [{ url: "http://127.0.0.1:9", address: served.key.address }],
    });
    // Anyone with a fresh key: not one of the node's gateways.
    const stranger = new TestGateway();
    const base = (await (await fetch(`${harness.node.url}/metrics`)).text()).length;
    for (let i = 0; i < 200; i++) {
      const response = await harness.client.relay.mutate(
        stranger.request({ model: "x", prompt: "hi" }, { serviceId: `made-up-service-${i}` }),
      );
      expect(response.outcome).toBe("error");
    }
    const text = await (await fetch(`${harness.node.url}/metrics`)).text();
    const series = text.split("\n").filter((l) => l.startsWith("pocket_node_relays_total{"));
    expect(series.some((l) => l.includes('service="other"'))).toBe(true);
    // Refused relays count under `other`: no made-up name becomes a series of its own.
    expect(series.filter((l) => l.includes("made-up-service")).length).toBe(0);
    expect(text.length - base).toBeLessThan(2_000);
  });
});
