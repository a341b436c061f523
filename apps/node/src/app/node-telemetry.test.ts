import { startSpanCollector } from "@pocket-ai/runtime/testing";
import { describe, expect, it } from "vitest";
import { startTestNode } from "../../test/helpers/node-harness.js";

describe("node telemetry", () => {
  it("exports relay spans to the configured OTLP endpoint under the node's service name", async () => {
    const collector = await startSpanCollector();
    const t = await startTestNode({ telemetry: { otlpEndpoint: collector.url } });
    // An envelope the node cannot verify: refused with a code, and the span is recorded all the same.
    await t.client.relay.mutate({ not: "an envelope" } as never).catch(() => undefined);
    await t.stop();
    await collector.close();
    expect(collector.spans).toContainEqual({ path: "/v1/traces", service: "node", name: "Node.relay" });
  }, 60_000);
});
