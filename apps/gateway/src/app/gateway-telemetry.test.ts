import { startSpanCollector } from "@pocket-ai/runtime/testing";
import { describe, expect, it } from "vitest";
import { startTestGateway } from "../../test/support/gateway-test-harness.js";

describe("gateway telemetry", () => {
  it("exports the spans of admin calls and relays when an OTLP endpoint is configured", async () => {
    const collector = await startSpanCollector();
    const t = await startTestGateway({ telemetry: { otlpEndpoint: collector.url } });
    const { openai } = await t.newKey();
    await openai.chat.completions.create({
      model: "mistral-7b",
      messages: [{ role: "user", content: "hi" }],
    });
    await t.close();
    await collector.close();
    const names = new Set(collector.spans.map((s) => s.name));
    expect(names.has("Accounts.createApplication")).toBe(true);
    expect(names.has("Limits.reserve")).toBe(true);
    expect(new Set(collector.spans.map((s) => s.service))).toEqual(new Set(["gateway"]));
  }, 60_000);
});
