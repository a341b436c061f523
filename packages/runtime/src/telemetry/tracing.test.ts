import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { Duration, Effect } from "effect";
import { afterEach, describe, expect, it } from "vitest";
import { tracingLayer } from "./tracing.js";

interface Collector {
  readonly url: string;
  readonly bodies: Array<{ path: string; body: unknown }>;
  readonly close: () => Promise<void>;
}

async function startCollector(): Promise<Collector> {
  const bodies: Array<{ path: string; body: unknown }> = [];
  const read = (req: IncomingMessage) =>
    new Promise<string>((resolve) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    });
  const server = createServer(async (req, res) => {
    const text = await read(req);
    bodies.push({ path: req.url ?? "", body: JSON.parse(text) });
    res.writeHead(200, { "content-type": "application/json" }).end("{}");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    bodies,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

function spanNames(bodies: Collector["bodies"]): string[] {
  const names: string[] = [];
  for (const { body } of bodies) {
    const resourceSpans = (body as { resourceSpans?: unknown[] }).resourceSpans ?? [];
    for (const rs of resourceSpans as Array<{ scopeSpans?: Array<{ spans?: Array<{ name: string }> }> }>) {
      for (const ss of rs.scopeSpans ?? []) for (const span of ss.spans ?? []) names.push(span.name);
    }
  }
  return names;
}

const served = Effect.fn("Relay.serve")(function* (n: number) {
  yield* Effect.sleep(Duration.millis(1));
  return n + 1;
});

let collector: Collector | undefined;
afterEach(async () => {
  await collector?.close();
  collector = undefined;
});

describe("tracingLayer", () => {
  it("exports Effect.fn spans to the configured OTLP endpoint, flushed on shutdown", async () => {
    collector = await startCollector();
    const result = await Effect.runPromise(
      served(41).pipe(
        Effect.provide(
          tracingLayer({ otlpEndpoint: collector.url }, "gateway", { exportInterval: "1 hour" }),
        ),
      ),
    );
    expect(result).toBe(42);
    expect(collector.bodies.map((b) => b.path)).toEqual(["/v1/traces"]);
    expect(spanNames(collector.bodies)).toEqual(["Relay.serve"]);
    expect(JSON.stringify(collector.bodies[0]?.body)).toContain("gateway");
  });

  it("is off by default: no endpoint, nothing is sent", async () => {
    collector = await startCollector();
    await Effect.runPromise(served(1).pipe(Effect.provide(tracingLayer(undefined, "gateway"))));
    await Effect.runPromise(served(1).pipe(Effect.provide(tracingLayer({}, "gateway"))));
    expect(collector.bodies).toEqual([]);
  });
});
