import { createServer } from "node:net";
import { pocketCodeOf } from "@pocket-ai/link";
import {
  createNodeAnnouncement,
  DEFAULT_CATALOG,
  GATEWAY_PROCEDURES,
  generateKeyPair,
  type KeyPair,
  RegistrationAck,
  type SignedNodeServiceOffer,
  signCanonical,
} from "@pocket-ai/protocol";
import { createTRPCUntypedClient, httpLink, TRPCClientError } from "@trpc/client";
import { Context, Effect, Layer } from "effect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TEXT_OFFER } from "../../test/support/registry-fixtures.js";
import { settableClock } from "../../test/support/settable-clock.js";
import { ADMIN_TOKEN, startTestNetwork, type TestNetwork } from "../../test/support/test-network.js";
import { dispatchRequest, registered, unary } from "../../test/support/test-requests.js";
import { until } from "../../test/support/until.js";
import { GatewayCatalog, GatewayKey } from "../routing/gateway-key-and-catalog.js";
import { forgetNodesAfterMs, RoutingConfig, RoutingSettings } from "../routing/routing-config.js";
import { announceGracePeriods } from "../routing/schedules.js";
import { probeAll } from "./health-probe.js";
import { NodeRegistry } from "./node-registry.js";

let net: TestNetwork;
let node: Awaited<ReturnType<TestNetwork["startNode"]>>;
beforeAll(async () => {
  net = await startTestNetwork();
  node = await net.startNode();
  await registered(net, 1);
}, 60_000);
afterAll(() => net.close());

const client = (token?: string) =>
  createTRPCUntypedClient({
    links: [
      httpLink({
        url: net.gatewayUrl,
        headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
      }),
    ],
  });
const offer = TEXT_OFFER;
const announcement = (
  services: SignedNodeServiceOffer[] = [offer],
  endpoint = "http://127.0.0.1:9/trpc",
  key = generateKeyPair(),
  issuedAt = Date.now(),
) =>
  createNodeAnnouncement(
    {
      endpoint,
      services,
      hardware: { gpu: "none", vramGb: 0, cpuOnly: true },
      software: { name: "t", version: "1" },
      issuedAt,
    },
    key,
  );
const announce = async (endpoint: string, key: KeyPair) =>
  RegistrationAck.parse(
    await client().mutation(GATEWAY_PROCEDURES.announce, announcement([offer], endpoint, key)),
  );
const addresses = () =>
  net.managed.runPromise(Effect.map(NodeRegistry, (r) => r.list().map((n) => n.address)));
const freePort = () =>
  new Promise<number>((resolve) => {
    const server = createServer().listen(0, "127.0.0.1", () => {
      const port = (server.address() as { port: number }).port;
      server.close(() => resolve(port));
    });
  });
const pocketCode = pocketCodeOf;

describe("nodes.announce", () => {
  it("accepts a signed announcement and answers with the session, candidates and next announcement", async () => {
    const ack = RegistrationAck.parse(await client().mutation(GATEWAY_PROCEDURES.announce, announcement()));
    expect(ack.accepted).toBe(true);
    expect(ack.gatewayAddress).toBe(net.key.address);
    expect(ack.session).toEqual({ mode: "time", genesisMs: 0, sessionLengthMs: 600_000, graceMs: 60_000 });
    expect(ack.nodesPerSession).toBe(24);
    expect(ack.registry["llama-2-13b"]!.map((c) => c.address)).toContain(node.address);
    expect(ack.nextAnnounceMs).toBe(60_000);
  });

  it("refuses an announcement from a clock minutes off, saying by how much and to sync the clock", async () => {
    const refusal = async (offsetMs: number) => {
      const error = await client()
        .mutation(
          GATEWAY_PROCEDURES.announce,
          announcement([offer], undefined, undefined, Date.now() + offsetMs),
        )
        .catch((e: unknown) => e);
      expect(pocketCode(error)).toBe("MALFORMED_ENVELOPE");
      return (error as Error).message;
    };
    const ahead = await refusal(5 * 60_000);
    expect(ahead).toMatch(/\b(29\d|300) s ahead of this gateway's clock/);
    expect(ahead).toMatch(/sync the node's clock/);
    const behind = await refusal(-10 * 60_000);
    expect(behind).toMatch(/\b(59\d|600|60\d) s behind this gateway's clock/);
    expect(behind).toMatch(/sync the node's clock/);
  });

  describe("the gateway an announcement names", () => {
    /** A port of its own for each node: two nodes on one endpoint would dispute it. */
    let port = 20_000;
    const signedFor = (gatewayAddress: string | undefined, key = generateKeyPair()) => {
      port += 1;
      return createNodeAnnouncement(
        {
          endpoint: `http://127.0.0.1:${port}/trpc`,
          services: [offer],
          hardware: { gpu: "none", vramGb: 0, cpuOnly: true },
          software: { name: "t", version: "1" },
          ...(gatewayAddress === undefined ? {} : { gatewayAddress }),
          issuedAt: Date.now(),
        },
        key,
      );
    };
    const held = (address: string) =>
      net.managed.runPromise(Effect.map(NodeRegistry, (r) => r.get(address)?.announcement));

    it("refuses one signed for another gateway (403 ANNOUNCEMENT_WRONG_GATEWAY) and registers nothing", async () => {
      const key = generateKeyPair();
      const elsewhere = generateKeyPair().address;
      const error = await client()
        .mutation(GATEWAY_PROCEDURES.announce, signedFor(elsewhere, key))
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(TRPCClientError);
      expect(pocketCode(error)).toBe("ANNOUNCEMENT_WRONG_GATEWAY");
      expect((error as TRPCClientError<never>).data).toMatchObject({ httpStatus: 403 });
      expect((error as Error).message).toContain(elsewhere);
      expect((error as Error).message).toContain(net.key.address);
      expect(await held(key.address)).toBeUndefined();
    });

    it("takes one signed for itself, and holds the name it was signed with", async () => {
      const key = generateKeyPair();
      const ack = RegistrationAck.parse(
        await client().mutation(GATEWAY_PROCEDURES.announce, signedFor(net.key.address, key)),
      );
      expect(ack.accepted).toBe(true);
      expect((await held(key.address))?.gatewayAddress).toBe(net.key.address);
    });

    it("still takes one that names no gateway (a node older than the field)", async () => {
      const key = generateKeyPair();
      const ack = RegistrationAck.parse(
        await client().mutation(GATEWAY_PROCEDURES.announce, signedFor(undefined, key)),
      );
      expect(ack.accepted).toBe(true);
      const stored = await held(key.address);
      expect(stored).toBeDefined();
      expect(stored?.gatewayAddress).toBeUndefined();
    });

    it("refuses one whose name was changed to its own after signing (INVALID_SIGNATURE)", async () => {
      const renamed = { ...signedFor(generateKeyPair().address), gatewayAddress: net.key.address };
      const error = await client()
        .mutation(GATEWAY_PROCEDURES.announce, renamed)
        .catch((e: unknown) => e);
      expect(pocketCode(error)).toBe("INVALID_SIGNATURE");
    });
  });

  it("refuses a forged announcement with its protocol code", async () => {
    const forged = { ...announcement(), endpoint: "http://127.0.0.1:10/trpc" };
    const error = await client()
      .mutation(GATEWAY_PROCEDURES.announce, forged)
      .catch((e: unknown) => e);
    expect(pocketCode(error)).toBe("INVALID_SIGNATURE");
  });

  it("registers a node that announces a capability flag of a newer version, as not supporting it", async () => {
    const key = generateKeyPair();
    const newer = announcement(
      [
        {
          ...offer,
          capabilities: { ...offer.capabilities, speculativeDecoding: true },
          tokenizer: { kind: "qwen-2", exact: true },
        },
      ],
      "http://127.0.0.1:11/trpc",
      key,
    );
    const ack = RegistrationAck.parse(await client().mutation(GATEWAY_PROCEDURES.announce, newer));
    expect(ack.accepted).toBe(true);
    const registered = await net.managed.runPromise(Effect.map(NodeRegistry, (r) => r.get(key.address)));
    const read = registered?.offers.get("llama-2-13b");
    expect(read?.capabilities).toEqual(offer.capabilities);
    expect(read?.tokenizer).toEqual({ kind: "estimate", exact: false });

    // Signed by its node (a wrong type is refused for what it is, not for its signature).
    const { signature: _s, ...unsigned } = announcement([offer], "http://127.0.0.1:12/trpc", key);
    const wrongTyped = {
      ...unsigned,
      services: [{ ...offer, capabilities: { ...offer.capabilities, tools: "yes" } }],
    };
    const wrongType = { ...wrongTyped, signature: signCanonical(wrongTyped, key.privateKey) };
    const refused = await client()
      .mutation(GATEWAY_PROCEDURES.announce, wrongType)
      .catch((e: unknown) => e);
    expect(pocketCode(refused)).toBe("MALFORMED_ENVELOPE");
    expect((refused as Error).message).toMatch(/services\.0\.capabilities\.tools/);

    const tampered = JSON.parse(JSON.stringify(announcement([offer], "http://127.0.0.1:13/trpc")));
    tampered.services[0].capabilities.speculativeDecoding = true;
    const forged = await client()
      .mutation(GATEWAY_PROCEDURES.announce, tampered)
      .catch((e: unknown) => e);
    expect(pocketCode(forged)).toBe("INVALID_SIGNATURE");
  });

  it("does not accept a node that serves nothing from the catalog, or another node's endpoint", async () => {
    const none = RegistrationAck.parse(
      await client().mutation(GATEWAY_PROCEDURES.announce, announcement([{ ...offer, serviceId: "gpt-17" }])),
    );
    expect(none).toMatchObject({ accepted: false });
    expect(none.detail).toMatch(/gpt-17/);
    const squat = RegistrationAck.parse(
      await client().mutation(GATEWAY_PROCEDURES.announce, announcement([offer], node.node.trpcUrl)),
    );
    expect(squat.accepted).toBe(false);
  });

  it("answers a node that offers many services outside the catalog with an acknowledgement the node can read", async () => {
    const services = Array.from({ length: 64 }, (_, i) => ({
      ...offer,
      serviceId: `${String(i).padStart(2, "0")}-${"x".repeat(61)}`,
    }));
    const none = RegistrationAck.parse(
      await client().mutation(GATEWAY_PROCEDURES.announce, announcement(services)),
    );
    expect(none.accepted).toBe(false);
    expect(none.detail).toMatch(
      /^none of the announced services \(00-x+, 01-x+, .* and 56 more\) is a model service/,
    );
  });

  it("gives an endpoint to the node that answers there: a key that announced it first does not keep the owner out", async () => {
    const port = await freePort();
    const endpoint = `http://127.0.0.1:${port}/trpc`;
    const squatter = generateKeyPair();
    // Nothing answers at the endpoint yet: the first claim stands.
    expect((await announce(endpoint, squatter)).accepted).toBe(true);
    expect(await addresses()).toContain(squatter.address);
    const owner = await net.startNode({ listenPort: port });
    // The owner's announcement takes the endpoint over; the squatter's record is gone.
    await until(async () => (await addresses()).includes(owner.address), "the owner registered");
    expect(await addresses()).not.toContain(squatter.address);
    // And the squatter cannot take it back while the owner answers there.
    const again = await announce(endpoint, squatter);
    expect(again.accepted).toBe(false);
    expect(again.detail).toBe(`endpoint ${endpoint} is registered by another node`);
    expect(await addresses()).not.toContain(squatter.address);
    await owner.stop();
  });
});

describe("the registry", () => {
  /** The addresses a registry started again over the test network's database loads. */
  const loadedAgain = (allowPrivateEndpoints: boolean) =>
    net.managed.runPromise(
      Effect.scoped(
        Effect.map(
          Layer.build(
            NodeRegistry.layer.pipe(
              Layer.provide(
                Layer.mergeAll(
                  GatewayCatalog.layer(DEFAULT_CATALOG),
                  GatewayKey.layer(net.key),
                  RoutingSettings.layer({ allowPrivateEndpoints }),
                ),
              ),
            ),
          ),
          (ctx) =>
            Context.get(ctx, NodeRegistry)
              .list()
              .map((n) => n.address),
        ),
      ),
    );

  it("is loaded from the database when the gateway starts again", async () => {
    // The test nodes listen on loopback, as the test network allows.
    expect(await loadedAgain(true)).toContain(node.address);
  });

  it("leaves out nodes on loopback when it starts again with routing.allowPrivateEndpoints off", async () => {
    expect(await loadedAgain(false)).not.toContain(node.address);
  });

  it("marks a node down after failed health probes", async () => {
    const other = await net.startNode();
    await until(async () => (await addresses()).includes(other.address), "the other node registered");
    await other.stop();
    const healthy = await net.managed.runPromise(
      Effect.gen(function* () {
        yield* probeAll;
        yield* probeAll;
        const registry = yield* NodeRegistry;
        return [registry.isHealthy(node.address), registry.isHealthy(other.address)];
      }),
    );
    expect(healthy).toEqual([true, false]);
  });
});

describe("admin.nodes", () => {
  it("lists nodes with health, stats and scores for the operator only", async () => {
    const denied = await client()
      .query("admin.nodes.list")
      .catch((e: unknown) => e);
    expect(denied).toBeInstanceOf(TRPCClientError);
    const list = (await client(ADMIN_TOKEN).query("admin.nodes.list")) as {
      address: string;
      state: string;
      health: { healthy: boolean; reason: string | null };
    }[];
    const mine = list.find((n) => n.address === node.address);
    expect(mine).toMatchObject({
      fresh: true,
      state: "up",
      health: { healthy: true, reason: null },
      stats: { relays: 0 },
      score: null,
    });
    // The nodes stopped above failed their probes.
    const down = list.filter((n) => n.state === "down");
    expect(down.length).toBeGreaterThan(0);
    expect(down.every((n) => !n.health.healthy && n.health.reason?.startsWith("down: unreachable"))).toBe(
      true,
    );
    const scores = (await client(ADMIN_TOKEN).query("admin.nodes.scores")) as { evaluator?: string };
    expect(scores.evaluator).toBe("test-evaluator");
  });
});

describe("admin.nodes on a node that stopped announcing", () => {
  // The gateway's clock, set by the test: the node goes stale without the test waiting for it.
  const { clock: gatewayClock, time: gateway } = settableClock();
  let quiet: TestNetwork;
  let quietNode: Awaited<ReturnType<TestNetwork["startNode"]>>;
  beforeAll(async () => {
    quiet = await startTestNetwork({}, { clock: gatewayClock });
    quietNode = await quiet.startNode();
    await registered(quiet, 1);
  }, 60_000);
  afterAll(() => quiet.close());

  type Listed = {
    address: string;
    fresh: boolean;
    state: string;
    health: { healthy: boolean; reason: string | null };
  };
  const listed = async () => {
    const admin = createTRPCUntypedClient({
      links: [httpLink({ url: quiet.gatewayUrl, headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })],
    });
    const list = (await admin.query("admin.nodes.list")) as Listed[];
    return list.find((n) => n.address === quietNode.address);
  };

  it("reports it stale and not healthy, saying why, once its announcements are overdue", async () => {
    expect(await listed()).toMatchObject({ fresh: true, health: { healthy: true, reason: null } });
    // Past the last announcement's grace: announceEveryMs × announceGracePeriods, and a moment.
    gateway.at += RoutingConfig.parse({}).announceEveryMs * announceGracePeriods + 1_000;
    const stale = await listed();
    expect(stale).toMatchObject({ fresh: false, state: "stale", health: { healthy: false } });
    expect(stale?.health.reason).toMatch(/^stale: no announcement since \d{4}-\d\d-\d\dT.*not routed to/);
  });

  it("forgets it past forgetNodesAfterMs: listed as forgotten, a relay pinned to it told why, accepted when it announces again", async () => {
    const admin = createTRPCUntypedClient({
      links: [httpLink({ url: quiet.gatewayUrl, headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })],
    });
    const registry = () => quiet.managed.runPromise(NodeRegistry);
    const { registeredAt, lastAnnouncedAt } = (await registry()).get(quietNode.address)!;
    gateway.at = lastAnnouncedAt + forgetNodesAfterMs(RoutingConfig.parse({})) + 1_000;
    // The next reload leaves it out.
    await until(async () => (await registry()).get(quietNode.address) === undefined, "the node forgotten");
    expect(await listed()).toBeUndefined();
    const page = (await admin.query("admin.nodes.forgotten", { limit: 10 })) as {
      forgetAfterMs: number;
      nodes: { address: string; lastAnnouncedAt: number; status: string }[];
    };
    expect(page.forgetAfterMs).toBe(3_600_000);
    expect(page.nodes).toEqual([
      expect.objectContaining({
        address: quietNode.address,
        lastAnnouncedAt,
        registeredAt,
        status: "active",
      }),
    ]);
    const unknown = await admin
      .query("admin.nodes.get", { address: quietNode.address })
      .catch((e: unknown) => e);
    expect(pocketCode(unknown)).toBe("INVALID_REQUEST");
    expect((unknown as Error).message).toMatch(
      new RegExp(`node ${quietNode.address} is not registered with this gateway now: .*not in the last 1 h`),
    );

    // An evaluator's probe pinned to it: the gateway's own code, saying why and what brings it back.
    const pinned = await unary(
      quiet,
      dispatchRequest("llama-2-13b", { prompt: "Hi" }, { targetNode: quietNode.address }),
    );
    expect(pinned._tag).toBe("Left");
    if (pinned._tag !== "Left") return;
    expect(pinned.left).toMatchObject({ _tag: "DispatchError", code: "NO_NODES_AVAILABLE" });
    expect((pinned.left as { clientDetail?: string }).clientDetail).toMatch(
      /not registered with this gateway now: it never announced here, or not in the last 1 h .*known again from its next announcement/,
    );

    // It comes back (at another endpoint): routed to, registered when it first was, no longer forgotten.
    const back = RegistrationAck.parse(
      await admin.mutation(
        GATEWAY_PROCEDURES.announce,
        announcement([offer], "http://127.0.0.1:14/trpc", quietNode.node.key, gateway.at),
      ),
    );
    expect(back.accepted).toBe(true);
    expect(back.registry["llama-2-13b"]?.map((c) => c.address)).toContain(quietNode.address);
    expect(await listed()).toMatchObject({ fresh: true });
    expect((await registry()).get(quietNode.address)).toMatchObject({
      endpoint: "http://127.0.0.1:14/trpc",
      registeredAt,
    });
    const after = (await admin.query("admin.nodes.forgotten", {})) as { nodes: unknown[] };
    expect(after.nodes).toEqual([]);
  });
});
