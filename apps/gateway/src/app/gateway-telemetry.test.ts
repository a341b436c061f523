import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, expect, it } from "vitest";
import { startTestGateway } from "../../test/support/gateway-test-harness.js";

/** A loopback OTLP/HTTP collector that keeps the span names it is sent. */
async function startSpanCollector() {
  const spans: Array<{ service: string; name: string }> = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as {
        resourceSpans: Array<{
          resource: { attributes: Array<{ key: string; value: { stringValue?: string } }> };
          scopeSpans: Array<{ spans: Array<{ name: string }> }>;
        }>;
      };
      for (const rs of body.resourceSpans) {
        const service = rs.resource.attributes.find((a) => a.key === "service.name")?.value.stringValue ?? "";
        for (const ss of rs.scopeSpans) for (const s of ss.spans) spans.push({ service, name: s.name });
      }
      res.writeHead(200, { "content-type": "application/json" }).end("{}");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    spans,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

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
