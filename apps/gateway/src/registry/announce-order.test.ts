import type { AddressInfo } from "node:net";
import { contextFromRequest, makeNodeRouter, type NodeRelayApi } from "@pocket-ai/link";
import { DEFAULT_CATALOG, generateKeyPair, RegistrationAck } from "@pocket-ai/protocol";
import { createHTTPServer } from "@trpc/server/adapters/standalone";
import { sql } from "drizzle-orm";
import { Effect, Exit, Layer, ManagedRuntime, Runtime } from "effect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { textNodeAnnouncement } from "../../test/support/registry-fixtures.js";
import { registryReplicas } from "../../test/support/registry-replicas.js";
import { settableClock } from "../../test/support/settable-clock.js";
import { dialectMissing, STORE_DIALECTS, tempStore } from "../../test/support/temp-database.js";
import { NodeClients } from "../relay/node-client.js";
import { GatewayCatalog, GatewayKey } from "../routing/gateway-key-and-catalog.js";
import { RoutingSettings } from "../routing/routing-config.js";
import { NodeRegistry } from "./node-registry.js";

// An announcement travels over the link in the clear and stays valid for minutes: whoever saw one
// must not be able to send it again later and undo what the node announced since.
describe.each(STORE_DIALECTS)("announcements in the order the node signed them, on %s", (dialect) => {
  describe.skipIf(dialectMissing(dialect))(dialect, () => {
    const { clock, time } = settableClock();
    const store = ManagedRuntime.make(tempStore(dialect));
    const settings = Layer.mergeAll(
      GatewayCatalog.layer(DEFAULT_CATALOG),
      GatewayKey.layer(generateKeyPair()),
    ).pipe(
      Layer.provideMerge(NodeClients.layer),
      Layer.provideMerge(RoutingSettings.layer({ announceEveryMs: 60_000, allowPrivateEndpoints: true })),
    );
    /** Two replicas on one database; each refreshes from it only every 2 s. */
    const { db, replicas } = registryReplicas(store, settings, clock);

    const send = async (message: unknown, on = 0) => {
      const exit = await replicas()[on]!.runPromiseExit(
        Effect.flatMap(NodeRegistry, (r) => r.announce(message, { network: "n" })),
      );
      if (Exit.isSuccess(exit)) return RegistrationAck.parse(exit.value).accepted ? "accepted" : "refused";
      const failure = exit.cause._tag === "Fail" ? exit.cause.error : undefined;
      return { code: (failure as { code?: string } | undefined)?.code, message: String(failure) };
    };
    const stored = (address: string) =>
      db().get<{ endpoint: string; lastAnnouncedAt: number }>(
        sql`select endpoint, last_announced_at as "lastAnnouncedAt" from nodes where address = ${address}`,
      );
    const held = (address: string, on = 0) =>
      replicas()[on]!.runPromise(Effect.map(NodeRegistry, (r) => r.get(address)?.endpoint));

    it("refuses an announcement older than the one it holds (ANNOUNCEMENT_SUPERSEDED) and keeps the newer", async () => {
      const key = generateKeyPair();
      const old = textNodeAnnouncement(key, "http://127.0.0.1:31001/trpc", time.at - 60_000);
      expect(await send(old)).toBe("accepted");
      time.at += 1_000;
      expect(await send(textNodeAnnouncement(key, "http://127.0.0.1:31002/trpc", time.at))).toBe("accepted");
      time.at += 1_000;
      const replayed = await send(old);
      expect(replayed).toMatchObject({ code: "ANNOUNCEMENT_SUPERSEDED" });
      expect((replayed as { message: string }).message).toMatch(/clock/);
      expect(await held(key.address)).toBe("http://127.0.0.1:31002/trpc");
      expect((await stored(key.address))?.endpoint).toBe("http://127.0.0.1:31002/trpc");
    });

    it("refuses it on a replica that has not yet read the newer one from the database", async () => {
      const key = generateKeyPair();
      const endpoint = (port: number) => `http://127.0.0.1:${port}/trpc`;
      expect(await send(textNodeAnnouncement(key, endpoint(31003), time.at - 40_000), 1)).toBe("accepted");
      // Seen on the wire, then superseded on replica 0.
      const old = textNodeAnnouncement(key, endpoint(31003), time.at - 30_000);
      expect(await send(old, 0)).toBe("accepted");
      time.at += 1_000;
      expect(await send(textNodeAnnouncement(key, endpoint(31004), time.at), 0)).toBe("accepted");
      // At once, to the replica that may still hold the first one: refused all the same.
      expect(await send(old, 1)).toMatchObject({ code: "ANNOUNCEMENT_SUPERSEDED" });
      expect((await stored(key.address))?.endpoint).toBe(endpoint(31004));
    });

    it("answers the same announcement again as accepted without counting it as a new sign of life", async () => {
      const key = generateKeyPair();
      const once = textNodeAnnouncement(key, "http://127.0.0.1:31005/trpc", time.at);
      expect(await send(once)).toBe("accepted");
      const first = await stored(key.address);
      time.at += 120_000;
      // A retry of a call whose answer was lost, or a copy someone kept: either way nothing new.
      expect(await send(once)).toBe("accepted");
      expect(await send(once, 1)).toBe("accepted");
      expect(Number((await stored(key.address))?.lastAnnouncedAt)).toBe(Number(first?.lastAnnouncedAt));
      // The node's next announcement is taken as always.
      expect(await send(textNodeAnnouncement(key, "http://127.0.0.1:31005/trpc", time.at))).toBe("accepted");
      expect(Number((await stored(key.address))?.lastAnnouncedAt)).toBe(time.at);
    });

    // An endpoint whose `info` answers as `answering.address`.
    const answering = { address: "" };
    const impl = {
      info: () => ({ address: answering.address }),
      health: () => ({ ok: true, backends: {} }),
    } as unknown as NodeRelayApi;
    const server = createHTTPServer({
      router: makeNodeRouter(impl),
      basePath: "/trpc/",
      createContext: contextFromRequest(Runtime.defaultRuntime),
    });
    let endpoint = "";
    beforeAll(async () => {
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
      endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}/trpc`;
    });
    afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const status = (address: string) =>
      db().get<{ status: string }>(sql`select status from nodes where address = ${address}`);

    it("takes a removed node's announcement again only once its endpoint answers as that node", async () => {
      const squatter = generateKeyPair();
      const owner = generateKeyPair();
      const first = textNodeAnnouncement(squatter, endpoint, time.at);
      expect(await send(first)).toBe("accepted");
      // The owner answers there: its announcement takes the endpoint, the squatter's row is removed.
      answering.address = owner.address;
      time.at += 1_000;
      expect(await send(textNodeAnnouncement(owner, endpoint, time.at))).toBe("accepted");
      expect((await status(squatter.address))?.status).toBe("removed");
      // The owner moves on: no node holds the endpoint now, yet the owner still answers there.
      time.at += 1_000;
      expect(await send(textNodeAnnouncement(owner, "http://127.0.0.1:31009/trpc", time.at))).toBe(
        "accepted",
      );
      // The squatter's announcement again (a copy, or a retried call) is not answered as accepted
      // while its row stays removed.
      time.at += 11_000;
      expect(await send(first)).toBe("refused");
      expect((await status(squatter.address))?.status).toBe("removed");
      expect(await held(squatter.address)).toBeUndefined();
      // Once the endpoint answers as the squatter, the same announcement brings it back.
      answering.address = squatter.address;
      time.at += 11_000;
      expect(await send(first)).toBe("accepted");
      expect((await status(squatter.address))?.status).toBe("active");
      expect(await held(squatter.address)).toBe(endpoint);
      expect(Number((await stored(squatter.address))?.lastAnnouncedAt)).toBe(time.at);
    });
  });
});
