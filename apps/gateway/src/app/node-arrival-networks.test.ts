import { join } from "node:path";
import { generateKeyPair } from "@pocket-ai/protocol";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestGateway, type TestGateway } from "../../test/support/gateway-test-harness.js";
import { textNodeAnnouncement } from "../../test/support/registry-fixtures.js";

let t: TestGateway;
beforeAll(async () => {
  // One proxy of the operator's own, on this host: its X-Forwarded-For entry names the node.
  t = await startTestGateway({ routing: { newNodesPerNetworkPerHour: 2 }, portal: { trustProxy: 1 } });
}, 30_000);
afterAll(() => t?.close());

let port = 31_000;
/** A new node key announcing through the proxy for `forwardedFor`: the HTTP status and the link's code. */
async function announceNew(forwardedFor: string) {
  const announcement = textNodeAnnouncement(generateKeyPair(), `http://127.0.0.1:${port++}/trpc`, Date.now());
  const response = await fetch(`${t.gateway.trpcUrl}/nodes.announce`, {
    method: "POST",
    body: JSON.stringify(announcement),
    headers: { "content-type": "application/json", "x-forwarded-for": forwardedFor },
  });
  const body = (await response.json()) as {
    error?: { message: string; data: { pocketCode: string | null } };
  };
  return { status: response.status, code: body.error?.data.pocketCode ?? null, message: body.error?.message };
}

describe("new nodes per network, over HTTP", () => {
  it("counts new nodes by the network the portal's proxy settings read: an IPv4 address, an IPv6 /64", async () => {
    expect((await announceNew("198.51.100.7")).status).toBe(200);
    expect((await announceNew("203.0.113.9, 198.51.100.7")).status).toBe(200);
    const refused = await announceNew("198.51.100.7");
    expect(refused).toMatchObject({ status: 429, code: "ANNOUNCE_LIMITED" });
    expect(refused.message).toMatch(/keep announcing/);
    // Another address is another network; two addresses of one /64 are one.
    expect((await announceNew("198.51.100.8")).status).toBe(200);
    expect((await announceNew("2001:db8:1:2::5")).status).toBe(200);
    expect((await announceNew("2001:db8:1:2:aaaa::9")).status).toBe(200);
    expect(await announceNew("2001:db8:1:2::77")).toMatchObject({ status: 429, code: "ANNOUNCE_LIMITED" });
  });

  it("keeps a keyed tag of the network, never the address", () => {
    const db = new Database(join(t.config.dataDir, "gateway.sqlite"), { readonly: true });
    try {
      const rows = db.prepare("select arrived_from as network from nodes").all() as { network: string }[];
      expect(rows).toHaveLength(5);
      for (const { network } of rows) expect(network).toMatch(/^[0-9a-f]{32}$/);
    } finally {
      db.close();
    }
  });
});
