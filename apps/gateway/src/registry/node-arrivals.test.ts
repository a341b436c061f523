import { DEFAULT_CATALOG, generateKeyPair, type KeyPair, RegistrationAck } from "@pocket-ai/protocol";
import { sql } from "drizzle-orm";
import { Effect, Exit, Layer, ManagedRuntime } from "effect";
import { describe, expect, it } from "vitest";
import { textNodeAnnouncement } from "../../test/support/registry-fixtures.js";
import { registryReplicas } from "../../test/support/registry-replicas.js";
import { settableClock } from "../../test/support/settable-clock.js";
import { dialectMissing, STORE_DIALECTS, tempStore } from "../../test/support/temp-database.js";
import { NodeClients } from "../relay/node-client.js";
import { GatewayCatalog, GatewayKey } from "../routing/gateway-key-and-catalog.js";
import { DEFAULT_FORGET_NODES_AFTER_MS, RoutingSettings } from "../routing/routing-config.js";
import { NodeRegistry } from "./node-registry.js";

const PER_HOUR = 3;
const HOUR_MS = 3_600_000;

describe.each(STORE_DIALECTS)("new nodes per network on %s", (dialect) => {
  describe.skipIf(dialectMissing(dialect))(dialect, () => {
    const { clock, time } = settableClock();
    const store = ManagedRuntime.make(tempStore(dialect));
    const settings = Layer.mergeAll(
      GatewayCatalog.layer(DEFAULT_CATALOG),
      GatewayKey.layer(generateKeyPair()),
    ).pipe(
      Layer.provideMerge(NodeClients.layer),
      // The nodes' endpoints are on loopback.
      Layer.provideMerge(
        RoutingSettings.layer({
          announceEveryMs: 1_000,
          newNodesPerNetworkPerHour: PER_HOUR,
          allowPrivateEndpoints: true,
        }),
      ),
    );
    /** Two replicas on one database. */
    const { db, replicas } = registryReplicas(store, settings, clock);

    let port = 30_000;
    const ports = new Map<string, number>();
    /** What `key` announcing from `network` to replica `on` is answered: accepted, or the refusal's code. */
    const announce = async (key: KeyPair, network: string, on = 0) => {
      const endpoint = `http://127.0.0.1:${ports.get(key.address) ?? port++}/trpc`;
      ports.set(key.address, Number(new URL(endpoint).port));
      const exit = await replicas()[on]!.runPromiseExit(
        Effect.flatMap(NodeRegistry, (r) =>
          r.announce(textNodeAnnouncement(key, endpoint, time.at), { network }),
        ),
      );
      if (Exit.isSuccess(exit)) return RegistrationAck.parse(exit.value).accepted ? "accepted" : "refused";
      const failure = exit.cause._tag === "Fail" ? exit.cause.error : undefined;
      return { code: (failure as { code?: string } | undefined)?.code, message: String(failure) };
    };
    const keys = (n: number) => Array.from({ length: n }, () => generateKeyPair());

    const home = keys(PER_HOUR);
    const extra = generateKeyPair();

    it("takes routing.newNodesPerNetworkPerHour new nodes from one network in an hour, and refuses the next with ANNOUNCE_LIMITED", async () => {
      for (const key of home) expect(await announce(key, "home")).toBe("accepted");
      const refused = await announce(extra, "home");
      expect(refused).toMatchObject({ code: "ANNOUNCE_LIMITED" });
      expect((refused as { message: string }).message).toMatch(/routing\.newNodesPerNetworkPerHour/);
      expect((refused as { message: string }).message).toMatch(/about 60 min/);
      // Refused, it left no row.
      const row = await db().get(sql`select address from nodes where address = ${extra.address}`);
      expect(row).toBeUndefined();
      // Another network is counted apart.
      expect(await announce(generateKeyPair(), "elsewhere")).toBe("accepted");
    });

    it("never limits a node it knows, on any replica", async () => {
      time.at += 10_000;
      for (const key of home) {
        expect(await announce(key, "home")).toBe("accepted");
        expect(await announce(key, "home", 1)).toBe("accepted");
      }
      // The other replica counts the same arrivals.
      expect(await announce(extra, "home", 1)).toMatchObject({ code: "ANNOUNCE_LIMITED" });
    });

    it("takes new nodes again as the hour's arrivals age out", async () => {
      time.at += HOUR_MS;
      expect(await announce(extra, "home")).toBe("accepted");
    });

    it("counts a forgotten node that comes back as an arrival", async () => {
      // Everything announced so far is forgotten; the network's arrivals are an hour old.
      time.at += DEFAULT_FORGET_NODES_AFTER_MS + 10_000;
      for (const key of keys(PER_HOUR)) expect(await announce(key, "home")).toBe("accepted");
      expect(await announce(home[0]!, "home")).toMatchObject({ code: "ANNOUNCE_LIMITED" });
    });

    it("takes no more than the limit from a burst of new nodes at once", async () => {
      time.at += HOUR_MS;
      const burst = await Promise.all(keys(12).map((key, i) => announce(key, "burst", i % 2)));
      // Each replica stores its new nodes one at a time; the two may race by one each.
      const accepted = burst.filter((a) => a === "accepted").length;
      expect(accepted).toBeGreaterThanOrEqual(PER_HOUR);
      expect(accepted).toBeLessThanOrEqual(PER_HOUR + 1);
      for (const answer of burst)
        if (answer !== "accepted") expect(answer).toMatchObject({ code: "ANNOUNCE_LIMITED" });
      const one = await Promise.all(keys(12).map((key) => announce(key, "burst-one")));
      expect(one.filter((a) => a === "accepted")).toHaveLength(PER_HOUR);
    });

    it("counts a network's arrivals by an index", async () => {
      const indexed =
        dialect === "sqlite"
          ? await db().all<{ detail: string }>(
              sql`explain query plan select count(*) from nodes where arrived_from = ${"home"} and arrived_at > ${time.at}`,
            )
          : await db().all<{ detail: string }>(
              sql`select indexdef as detail from pg_indexes where tablename = 'nodes' and indexname = 'nodes_arrivals'`,
            );
      expect(indexed.map((r) => r.detail).join("\n")).toMatch(
        dialect === "sqlite" ? /USING COVERING INDEX nodes_arrivals/ : /\(arrived_from, arrived_at\)/,
      );
    });
  });
});
