import { createNodeAnnouncement, DEFAULT_CATALOG, generateKeyPair, type KeyPair } from "@pocket-ai/protocol";
import { Effect, Exit, Layer, Logger, ManagedRuntime } from "effect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TEXT_OFFER } from "../../test/support/registry-fixtures.js";
import { settableClock } from "../../test/support/settable-clock.js";
import { tempStore } from "../../test/support/temp-database.js";
import { NodeClients } from "../relay/node-client.js";
import { GatewayCatalog, GatewayKey } from "../routing/gateway-key-and-catalog.js";
import { RoutingSettings } from "../routing/routing-config.js";
import { NodeRegistry } from "./node-registry.js";

// Until gateways refuse them, announcements of nodes older than `gatewayAddress` are taken; the
// gateway's operator hears of each such node once, not at each of its announcements.
describe("announcements that name no gateway", () => {
  const { clock, time } = settableClock();
  const gateway = generateKeyPair();
  const warnings: string[] = [];
  const logger = Logger.make(({ logLevel, message, annotations }) => {
    if (logLevel._tag === "Warning")
      warnings.push(`${JSON.stringify(message)} ${JSON.stringify(Object.fromEntries(annotations))}`);
  });
  const registry = ManagedRuntime.make(
    NodeRegistry.layer.pipe(
      Layer.provide(
        Layer.mergeAll(GatewayCatalog.layer(DEFAULT_CATALOG), GatewayKey.layer(gateway)).pipe(
          Layer.provideMerge(NodeClients.layer),
          Layer.provideMerge(RoutingSettings.layer({ announceEveryMs: 60_000, allowPrivateEndpoints: true })),
        ),
      ),
      Layer.provide(tempStore("sqlite")),
      Layer.provide(Layer.merge(Layer.setClock(clock), Logger.replace(Logger.defaultLogger, logger))),
    ),
  );
  beforeAll(() => registry.runPromise(NodeRegistry), 60_000);
  afterAll(() => registry.dispose());

  const endpoints = new Map<string, string>();
  const send = async (key: KeyPair, gatewayAddress?: string) => {
    time.at += 1_000;
    const endpoint = endpoints.get(key.address) ?? `http://127.0.0.1:${30_001 + endpoints.size}/trpc`;
    endpoints.set(key.address, endpoint);
    const announcement = createNodeAnnouncement(
      {
        endpoint,
        services: [TEXT_OFFER],
        hardware: { gpu: "none", vramGb: 0, cpuOnly: true },
        software: { name: "pocket-ai-node", version: "0.0.9" },
        ...(gatewayAddress === undefined ? {} : { gatewayAddress }),
        issuedAt: time.at,
      },
      key,
    );
    const exit = await registry.runPromiseExit(
      Effect.flatMap(NodeRegistry, (r) => r.announce(announcement, { network: "n" })),
    );
    return Exit.isSuccess(exit) && exit.value.accepted;
  };
  const about = (key: KeyPair) => warnings.filter((w) => w.includes(key.address));

  it("takes them, and warns once per node, naming it and its software", async () => {
    const old = generateKeyPair();
    expect(await send(old)).toBe(true);
    expect(await send(old)).toBe(true);
    expect(await send(old)).toBe(true);
    expect(about(old)).toHaveLength(1);
    expect(about(old)[0]).toMatch(/without naming this gateway.*2027-03-01/);
    expect(about(old)[0]).toContain("pocket-ai-node 0.0.9");
    const another = generateKeyPair();
    expect(await send(another)).toBe(true);
    expect(about(another)).toHaveLength(1);
  });

  it("says nothing of a node that names this gateway, and takes nothing that names another", async () => {
    const current = generateKeyPair();
    expect(await send(current, gateway.address)).toBe(true);
    expect(await send(current, gateway.address)).toBe(true);
    const carried = generateKeyPair();
    expect(await send(carried, generateKeyPair().address)).toBe(false);
    expect([...about(current), ...about(carried)]).toEqual([]);
  });
});
