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
    // State, not the shutdown flush's deadline: the periodic export (every 5 s) delivers them.
    const names = () => new Set(collector.spans.map((s) => s.name));
    await expect
      .poll(() => names().has("Accounts.createApplication") && names().has("Limits.reserve"), {
        timeout: 50_000,
        interval: 100,
      })
      .toBe(true);
    await t.close();
    await collector.close();
    expect(new Set(collector.spans.map((s) => s.service))).toEqual(new Set(["gateway"]));
  }, 90_000);
});
