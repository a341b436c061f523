import { startSpanCollector } from "@pocket-ai/runtime/testing";
import { describe, expect, it } from "vitest";
import { startTestNode } from "../../test/helpers/node-harness.js";

describe("node telemetry", () => {
  it("exports relay spans to the configured OTLP endpoint under the node's service name", async () => {
    const collector = await startSpanCollector();
    const t = await startTestNode({ telemetry: { otlpEndpoint: collector.url } });
    // An envelope the node cannot verify: refused with a code, and the span is recorded all the same.
    await t.client.relay.mutate({ not: "an envelope" } as never).catch(() => undefined);
    // State, not the shutdown flush's deadline: the periodic export (every 5 s) delivers the span;
    // on a starved machine a flush at stop may run out of its 3 s.
    const span = { path: "/v1/traces", service: "node", name: "Node.relay" };
    await expect.poll(() => collector.spans, { timeout: 50_000, interval: 100 }).toContainEqual(span);
    await t.stop();
    await collector.close();
    expect(new Set(collector.spans.map((s) => s.service))).toEqual(new Set(["node"]));
  }, 90_000);
});
