import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type NodeHarness, startTestNode } from "./helpers/node-harness.js";

const token = "scrape-token-0123456789";
let h: NodeHarness;
beforeAll(async () => {
  h = await startTestNode({ metrics: { token } });
});
afterAll(async () => {
  await h.stop();
});

describe("/metrics behind metrics.token", () => {
  it("refuses a scrape without the token with 401 METRICS_UNAUTHORIZED, and serves one with it", async () => {
    for (const authorization of [undefined, "Bearer wrong-token-0123456789", token]) {
      const refused = await fetch(`${h.node.url}/metrics`, {
        headers: authorization === undefined ? {} : { authorization },
      });
      expect(refused.status, String(authorization)).toBe(401);
      expect(refused.headers.get("www-authenticate")).toBe('Bearer realm="metrics"');
      const body = (await refused.json()) as { error: { code: string; message: string } };
      expect(body.error.code).toBe("METRICS_UNAUTHORIZED");
      expect(body.error.message).toContain("metrics.token");
    }
    const scrape = await fetch(`${h.node.url}/metrics`, { headers: { authorization: `Bearer ${token}` } });
    expect(scrape.status).toBe(200);
    expect(await scrape.text()).toContain("pocket_node_backend_queue_depth");
  });

  it("leaves /health open", async () => {
    expect((await fetch(`${h.node.url}/health`)).status).toBe(200);
  });
});
