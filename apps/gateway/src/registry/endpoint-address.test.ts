import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { generateKeyPair } from "@pocket-ai/protocol";
import { Layer, ManagedRuntime } from "effect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestGateway, type TestGateway } from "../../test/support/gateway-test-harness.js";
import { textNodeAnnouncement } from "../../test/support/registry-fixtures.js";
import { NodeClients } from "../relay/node-client.js";
import { RoutingSettings } from "../routing/routing-config.js";
import { literalEndpointRefusal } from "./endpoint-address.js";

/** A service on the gateway's own machine: every request it sees is one a stranger made the gateway send. */
let internal: Server;
const seen: string[] = [];
let port = 0;
beforeAll(async () => {
  internal = createServer((req, res) => {
    seen.push(`${req.method} ${req.url}`);
    req.resume();
    // Answers `health` as a node would, so a call that gets through is plain to see.
    res
      .writeHead(200, { "content-type": "application/json" })
      .end(JSON.stringify({ result: { data: { ok: true } } }));
  });
  await new Promise<void>((ready) => internal.listen(0, "127.0.0.1", ready));
  port = (internal.address() as AddressInfo).port;
});
afterAll(() => new Promise<void>((closed) => internal.close(() => closed())));

/** Announces a new node key at `endpoint`: the HTTP status, the link's code and message. */
async function announce(t: TestGateway, endpoint: string) {
  const response = await fetch(`${t.gateway.trpcUrl}/nodes.announce`, {
    method: "POST",
    body: JSON.stringify(textNodeAnnouncement(generateKeyPair(), endpoint, Date.now())),
    headers: { "content-type": "application/json" },
  });
  const body = (await response.json()) as {
    result?: { data: { accepted: boolean } };
    error?: { message: string; data: { pocketCode: string | null } };
  };
  return {
    status: response.status,
    accepted: body.result?.data.accepted ?? null,
    code: body.error?.data.pocketCode ?? null,
    message: body.error?.message ?? null,
  };
}

describe("announced endpoints on addresses that are not public, routing.allowPrivateEndpoints off", () => {
  let t: TestGateway;
  beforeAll(async () => {
    t = await startTestGateway({ routing: { allowPrivateEndpoints: false } });
  }, 30_000);
  afterAll(() => t?.close());

  it("refuses a loopback endpoint with ENDPOINT_NOT_PUBLIC, and calls nothing there", async () => {
    seen.length = 0;
    const refused = await announce(t, `http://127.0.0.1:${port}/internal/admin/api`);
    expect(refused).toMatchObject({ status: 403, code: "ENDPOINT_NOT_PUBLIC" });
    expect(refused.message).toMatch(/127\.0\.0\.1 is not a public address.*routing\.allowPrivateEndpoints/);
    expect((await t.admin.admin.nodes.list.query()).length).toBe(0);
    expect(seen).toEqual([]);
  });

  it("refuses a name that resolves to loopback, and link-local, private, unique-local and mapped addresses", async () => {
    seen.length = 0;
    const named = await announce(t, `http://localhost:${port}/trpc`);
    expect(named).toMatchObject({ status: 403, code: "ENDPOINT_NOT_PUBLIC" });
    expect(named.message).toMatch(/localhost resolves to/);
    for (const host of [
      "169.254.169.254",
      "10.1.2.3",
      "172.16.0.1",
      "192.168.1.1",
      "100.64.0.1",
      "0.0.0.0",
      "[::1]",
      "[fd00::1]",
      "[fe80::1]",
      "[::ffff:127.0.0.1]",
      "224.0.0.1",
    ]) {
      expect(await announce(t, `http://${host}:${port}/trpc`), host).toMatchObject({
        code: "ENDPOINT_NOT_PUBLIC",
      });
    }
    expect(seen).toEqual([]);
  });

  it("takes a public address", async () => {
    expect(await announce(t, "http://198.51.100.20:8545/trpc")).toMatchObject({
      status: 200,
      accepted: true,
    });
  });
});

describe("announced endpoints on loopback, routing.allowPrivateEndpoints on", () => {
  let t: TestGateway;
  beforeAll(async () => {
    t = await startTestGateway({ routing: { allowPrivateEndpoints: true } });
  }, 30_000);
  afterAll(() => t?.close());

  it("takes them", async () => {
    expect(await announce(t, `http://127.0.0.1:${port}/trpc`)).toMatchObject({ status: 200, accepted: true });
    expect(await announce(t, `http://localhost:${port}/trpc`)).toMatchObject({ status: 200, accepted: true });
  });
});

describe("the node clients' connections", () => {
  const clientsWith = (allowPrivateEndpoints: boolean) =>
    ManagedRuntime.make(
      NodeClients.layer.pipe(Layer.provide(RoutingSettings.layer({ allowPrivateEndpoints }))),
    );
  // A name that resolved to a public address when it was announced and to loopback now (DNS
  // rebinding) is `localhost` here: the check is on the address each socket connects to.
  const endpoint = () => `http://localhost:${port}/trpc`;

  it("go to no address that is not public while the setting is off: relays, streams, health, receipts", async () => {
    const runtime = clientsWith(false);
    try {
      seen.length = 0;
      const client = (await runtime.runPromise(NodeClients)).get(endpoint());
      await expect(client.relay.mutate({})).rejects.toThrow(/no public address/);
      await expect(client.relayStream.mutate({})).rejects.toThrow(/no public address/);
      await expect(client.health.query()).rejects.toThrow();
      await expect(client.settleCut.mutate({} as never)).rejects.toThrow();
      expect(seen).toEqual([]);
    } finally {
      await runtime.dispose();
    }
  });

  it("reach loopback while it is on", async () => {
    const runtime = clientsWith(true);
    try {
      seen.length = 0;
      const client = (await runtime.runPromise(NodeClients)).get(endpoint());
      expect(await client.health.query()).toEqual({ ok: true });
      expect(seen).toEqual(["GET /trpc/health"]);
    } finally {
      await runtime.dispose();
    }
  });
});

describe("literalEndpointRefusal", () => {
  it("names an IP address that is not public, and leaves public addresses and names to their lookup", () => {
    expect(literalEndpointRefusal("http://127.0.0.1:1/trpc")).toMatch(/127\.0\.0\.1 is not a public address/);
    expect(literalEndpointRefusal("https://[::1]/trpc")).toMatch(/::1 is not a public address/);
    expect(literalEndpointRefusal("http://203.0.113.5/trpc")).toBeUndefined();
    expect(literalEndpointRefusal("http://node.example/trpc")).toBeUndefined();
  });
});
