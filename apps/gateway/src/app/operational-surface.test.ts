import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestGateway, type TestGateway } from "../../test/support/gateway-test-harness.js";

let t: TestGateway;
beforeAll(async () => {
  t = await startTestGateway();
}, 30_000);
afterAll(() => t?.close());

/** What must never leave the process: a stack frame, a source file, a folder of this machine. */
const LEAKS = [/\bat .+:\d+:\d+/, /\.ts\b/, /node_modules/, /"stack"/, /\/(?:work|home|tmp|root)\//];
const leaks = (body: string) => LEAKS.filter((pattern) => pattern.test(body)).map(String);

describe("the operational surface", () => {
  it("no tRPC error body carries a stack trace or a file path (unauthenticated, malformed, unknown)", async () => {
    const trpc = t.gateway.trpcUrl;
    const calls: [string, RequestInit | undefined][] = [
      [`${trpc}/admin.keys.list`, undefined],
      [
        `${trpc}/admin.keys.create`,
        { method: "POST", body: '{"applicationId": 5', headers: { "content-type": "application/json" } },
      ],
      [
        `${trpc}/admin.keys.create`,
        { method: "POST", body: "{}", headers: { authorization: "Bearer wrong-token-000000000" } },
      ],
      [
        `${trpc}/nodes.announce`,
        {
          method: "POST",
          body: '{"address":[[[[1]]]],"sig":1e999}',
          headers: { "content-type": "application/json" },
        },
      ],
      [
        `${trpc}/nodes.announce`,
        { method: "POST", body: "not json at all", headers: { "content-type": "text/plain" } },
      ],
      [`${trpc}/no.such.procedure`, undefined],
      [`${trpc}/admin.usage.byKey?input=%7B%22keyId%22%3A`, undefined],
      [`${trpc}/admin.keys.list,admin.keys.list?batch=1&input=garbage`, undefined],
    ];
    for (const [url, init] of calls) {
      const response = await fetch(url, init);
      const body = await response.text();
      expect(response.status, url).toBeGreaterThanOrEqual(400);
      expect(response.status, `${url}: ${body}`).toBeLessThan(500);
      expect(leaks(body), `${url}: ${body}`).toEqual([]);
    }
  });

  it("no /v1 error body carries a stack trace or a file path", async () => {
    const { secret } = await t.newKey();
    const bodies = [
      "{",
      '{"model":"llama-2-13b","prompt":1e999}',
      "[]",
      '"x"',
      "null",
      '{"__proto__":{"x":1}}',
    ];
    for (const body of bodies) {
      const response = await fetch(`${t.gateway.url}/v1/completions`, {
        method: "POST",
        body,
        headers: { authorization: `Bearer ${secret}`, "content-type": "application/json" },
      });
      const text = await response.text();
      expect(response.status, `${body}: ${text}`).toBe(400);
      expect(leaks(text), text).toEqual([]);
    }
  });

  it("1,000 random paths add no metric series: unknown paths share one label", async () => {
    await fetch(`${t.gateway.url}/not-a-route`);
    const series = async () =>
      (await (await fetch(`${t.gateway.url}/metrics`)).text())
        .split("\n")
        .filter((line) => line.startsWith("pocket_gateway_request")).length;
    const before = await series();
    for (let i = 0; i < 1000; i += 50) {
      await Promise.all(
        Array.from({ length: 50 }, (_, j) =>
          fetch(`${t.gateway.url}/${Math.random().toString(36).slice(2)}/${i + j}?q=${j}`).then((r) =>
            r.text(),
          ),
        ),
      );
    }
    const metrics = await (await fetch(`${t.gateway.url}/metrics`)).text();
    expect(await series()).toBe(before);
    expect(metrics).toMatch(/pocket_gateway_requests_total\{[^}]*operation="unmatched"[^}]*\} 1001/);
  });

  it("/metrics says where its SQLite checkpoints run: the app's thread while the WAL is small", async () => {
    const metrics = await (await fetch(`${t.gateway.url}/metrics`)).text();
    expect(metrics).toContain('pocket_sqlite_checkpoint_worker{database="gateway.sqlite"} 0');
    expect(metrics).toContain('pocket_sqlite_checkpoint_worker_failed{database="gateway.sqlite"} 0');
  });

  it("/health says the process is up; /ready is 503 until a node serves a catalog service", async () => {
    const health = await fetch(`${t.gateway.url}/health`);
    expect(health.status).toBe(200);
    const notReady = await fetch(`${t.gateway.url}/ready`);
    expect(notReady.status).toBe(503);
    expect(await notReady.json()).toMatchObject({
      ready: false,
      database: "open",
      services: { "llama-2-13b": { status: "unavailable", tiers: { standard: 0, batch: 0 } } },
    });
    t.dispatcher.availability.set("llama-2-13b:standard", { nodes: 2 });
    try {
      const ready = await fetch(`${t.gateway.url}/ready`);
      expect(ready.status).toBe(200);
      expect(await ready.json()).toMatchObject({
        ready: true,
        services: {
          "llama-2-13b": { status: "ready", tiers: { standard: 2, batch: 0 } },
          "stable-diffusion": { status: "unavailable" },
        },
      });
    } finally {
      t.dispatcher.availability.clear();
    }
  });
});
