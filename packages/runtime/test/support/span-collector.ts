import { createServer } from "node:http";
import type { AddressInfo } from "node:net";

/** One span as an OTLP collector received it. */
export interface CollectedSpan {
  readonly path: string;
  readonly service: string;
  readonly name: string;
}

interface OtlpTraces {
  readonly resourceSpans?: ReadonlyArray<{
    readonly resource?: {
      readonly attributes?: ReadonlyArray<{ key: string; value: { stringValue?: string } }>;
    };
    readonly scopeSpans?: ReadonlyArray<{ readonly spans?: ReadonlyArray<{ readonly name: string }> }>;
  }>;
}

/**
 * For tests: a loopback OTLP/HTTP (JSON) collector that keeps every span it is sent, with the
 * service name of its resource and the path it was posted to.
 */
export async function startSpanCollector() {
  const spans: CollectedSpan[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as OtlpTraces;
      for (const rs of body.resourceSpans ?? []) {
        const attributes = rs.resource?.attributes ?? [];
        const service = attributes.find((a) => a.key === "service.name")?.value.stringValue ?? "";
        for (const ss of rs.scopeSpans ?? [])
          for (const s of ss.spans ?? []) spans.push({ path: req.url ?? "", service, name: s.name });
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
