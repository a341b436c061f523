import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, expect, it } from "vitest";
import { startTestNode } from "../../test/helpers/node-harness.js";

describe("node telemetry", () => {
  it("exports relay spans to the configured OTLP endpoint under the node's service name", async () => {
    const spans: Array<{ service: string; name: string }> = [];
    const collector = createServer((req, res) => {
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
          const service =
            rs.resource.attributes.find((a) => a.key === "service.name")?.value.stringValue ?? "";
          for (const ss of rs.scopeSpans) for (const s of ss.spans) spans.push({ service, name: s.name });
        }
        res.writeHead(200, { "content-type": "application/json" }).end("{}");
      });
    });
    await new Promise<void>((resolve) => collector.listen(0, "127.0.0.1", resolve));
    const { port } = collector.address() as AddressInfo;
    const t = await startTestNode({ telemetry: { otlpEndpoint: `http://127.0.0.1:${port}` } });
    // An envelope the node cannot verify: refused with a code, and the span is recorded all the same.
    await t.client.relay.mutate({ not: "an envelope" } as never).catch(() => undefined);
    await t.stop();
    await new Promise<void>((resolve) => collector.close(() => resolve()));
    expect(spans).toContainEqual({ service: "node", name: "Node.relay" });
  }, 60_000);
});
