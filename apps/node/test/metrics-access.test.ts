import { getFrom, nonLoopbackAddress } from "@pocket-ai/vitest-config/from-address";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type NodeHarness, startTestNode } from "./helpers/node-harness.js";

const token = "scrape-token-0123456789";
const elsewhere = nonLoopbackAddress();
let guarded: NodeHarness;
let plain: NodeHarness;
beforeAll(async () => {
  guarded = await startTestNode({ metrics: { token } });
  plain = await startTestNode();
});
afterAll(async () => {
  await guarded?.stop();
  await plain?.stop();
});

describe("/metrics without metrics.token", () => {
  it("serves this machine and refuses a scrape relayed by a proxy with 403 METRICS_LOCAL_ONLY", async () => {
    const local = await fetch(`${plain.node.url}/metrics`);
    expect(local.status).toBe(200);
    expect(await local.text()).toContain("pocket_node_backend_queue_depth");
    const relayed = await fetch(`${plain.node.url}/metrics`, {
      headers: { "x-forwarded-for": "203.0.113.9" },
    });
    expect(relayed.status).toBe(403);
    expect(relayed.headers.get("www-authenticate")).toBeNull();
    const body = (await relayed.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe("METRICS_LOCAL_ONLY");
    expect(body.error.message).toContain("metrics.token");
  });

  it.skipIf(elsewhere === undefined)("refuses a scrape from another address", async () => {
    const refused = await getFrom(`${plain.node.url}/metrics`, elsewhere!);
    expect(refused.status).toBe(403);
    expect(JSON.parse(refused.body)).toMatchObject({ error: { code: "METRICS_LOCAL_ONLY" } });
  });
});

describe("/metrics behind metrics.token", () => {
  it("refuses a scrape without the token with 401 METRICS_UNAUTHORIZED, and serves one with it", async () => {
    for (const authorization of [undefined, "Bearer wrong-token-0123456789", token]) {
      const refused = await fetch(`${guarded.node.url}/metrics`, {
        headers: authorization === undefined ? {} : { authorization },
      });
      expect(refused.status, String(authorization)).toBe(401);
      expect(refused.headers.get("www-authenticate")).toBe('Bearer realm="metrics"');
      const body = (await refused.json()) as { error: { code: string; message: string } };
      expect(body.error.code).toBe("METRICS_UNAUTHORIZED");
      expect(body.error.message).toContain("metrics.token");
    }
    const scrape = await fetch(`${guarded.node.url}/metrics`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(scrape.status).toBe(200);
    expect(await scrape.text()).toContain("pocket_node_backend_queue_depth");
    if (elsewhere !== undefined) {
      const remote = await getFrom(`${guarded.node.url}/metrics`, elsewhere, {
        authorization: `Bearer ${token}`,
      });
      expect(remote.status).toBe(200);
    }
  });

  it("leaves /health open", async () => {
    expect((await fetch(`${guarded.node.url}/health`)).status).toBe(200);
  });
});
