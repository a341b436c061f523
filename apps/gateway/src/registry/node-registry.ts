import {
  NODE_ANNOUNCEMENT_MAX_AGE_MS,
  NODE_ANNOUNCEMENT_MAX_SKEW_MS,
  type NodeAnnouncement,
  type RegistrationAck,
  type RegistryCandidate,
  verifyNodeAnnouncement,
} from "@pocket-ai/protocol";
import { peerText, type SqlClient } from "@pocket-ai/runtime";
import { type SQL, sql } from "drizzle-orm";
import { Clock, Context, Effect, Layer, Schedule } from "effect";
import { GatewayStore, storeRunner } from "../db/database.js";
import { askNode, NodeClients } from "../relay/node-client.js";
import { prepareNodeTokenizers } from "../relay/route-tokens.js";
import { GatewayCatalog, GatewayKey } from "../routing/gateway-key-and-catalog.js";
import { forgetNodesAfterMs, RoutingSettings } from "../routing/routing-config.js";
import { announceGracePeriods, unhealthyAfterFailures } from "../routing/schedules.js";
import { endpointRefusal, literalEndpointRefusal } from "./endpoint-address.js";
import { nodeFromRow, type RegisteredNode, toRegistered } from "./registered-node.js";
import {
  AnnouncementLimited,
  AnnouncementRefused,
  AnnouncementSuperseded,
  EndpointNotPublic,
} from "./registry-errors.js";
import { unnamedGatewayNotice } from "./unnamed-gateway.js";

export interface NodeHealth {
  readonly healthy: boolean;
  /** Probe failures in a row. */
  readonly failures: number;
  readonly checkedAt: number | undefined;
  readonly latencyMs: number | undefined;
}

/** How often each replica reloads the `nodes` table (nodes may announce to any replica). */
const REFRESH_MS = 2_000;
/** The longest `detail` a `RegistrationAck` may carry (the protocol's schema refuses more). */
const ACK_DETAIL_MAX = 1024;
/** Service ids a refusal names at most; the rest are counted. */
const NAMED_SERVICES_MAX = 8;
/** How long a disputed endpoint's answer stands before the gateway asks it again. */
const TAKEOVER_LOOK_MS = 10_000;
/** Disputed endpoints remembered at most (forgotten all at once past it: a look more, no harm). */
const MAX_LOOKS = 4_096;
/** The window `routing.newNodesPerNetworkPerHour` counts arrivals in. */
const ARRIVALS_WINDOW_MS = 3_600_000;
/** Forgotten nodes one `admin.nodes.forgotten` page lists at most. */
export const FORGOTTEN_PAGE_MAX = 100;

/** A node this gateway no longer loads (`routing.forgetNodesAfterMs`), as its row keeps it. */
export interface ForgottenNode {
  readonly address: string;
  readonly endpoint: string;
  readonly operator: string | null;
  readonly registeredAt: number;
  readonly lastAnnouncedAt: number;
  /** `removed`: its endpoint was taken over by the node that answers there. */
  readonly status: "active" | "removed";
}

/** Where a page of forgotten nodes starts: after this node, in the order newest announcement first. */
export interface ForgottenCursor {
  readonly lastAnnouncedAt: number;
  readonly address: string;
}

/** Where an announcement came from: the keyed tag of its network (see `client-network.ts`). */
export interface AnnouncementSource {
  readonly network: string;
}

const UNPROBED: NodeHealth = { healthy: true, failures: 0, checkedAt: undefined, latencyMs: undefined };

const make = Effect.gen(function* () {
  const clients = yield* NodeClients;
  const store = yield* GatewayStore;
  const catalog = yield* GatewayCatalog;
  const settings = yield* RoutingSettings;
  const key = yield* GatewayKey;
  const use = storeRunner(store);
  const staleAfterMs = settings.announceEveryMs * announceGracePeriods;
  const forgetAfterMs = forgetNodesAfterMs(settings);

  const byAddress = new Map<string, RegisteredNode>();
  /** A node now in the registry: the token tables of its families are built next, off its request. */
  const arrived = (node: RegisteredNode) => {
    setImmediate(() => prepareNodeTokenizers(node));
  };
  const health = new Map<string, NodeHealth>();
  let version = 0;

  /**
   * Reads the `nodes` table into memory: the hot path reads the map, never the database. Replicas
   * share the table, so a node that announced to another replica appears here at the next load.
   * Only nodes announced within `forgetAfterMs` (by the `last_announced_at` index): keys that
   * announced once and left cost neither this load nor an announcement's scan of the map.
   */
  const load = Effect.gen(function* () {
    const since = (yield* Clock.currentTimeMillis) - forgetAfterMs;
    const rows = yield* use("nodes.load", (db) =>
      db.all<{ address: string; announcement: string; registeredAt: number; lastAnnouncedAt: number }>(sql`
        select address, announcement, registered_at as "registeredAt", last_announced_at as "lastAnnouncedAt"
        from nodes where last_announced_at >= ${since} and status = 'active'`),
    );
    let changed = false;
    const seen = new Set<string>();
    for (const row of rows) {
      seen.add(row.address);
      const known = byAddress.get(row.address);
      if (known !== undefined && known.lastAnnouncedAt >= row.lastAnnouncedAt) continue;
      if (known !== undefined && JSON.stringify(known.announcement) === row.announcement) {
        byAddress.set(row.address, { ...known, lastAnnouncedAt: row.lastAnnouncedAt });
        continue;
      }
      const node = nodeFromRow(catalog, row);
      if (node === undefined) continue;
      // Announced before `allowPrivateEndpoints` was turned off: not called (a name is refused as
      // each socket resolves it).
      if (!settings.allowPrivateEndpoints && literalEndpointRefusal(node.endpoint) !== undefined) continue;
      if (known !== undefined && known.endpoint !== node.endpoint) health.delete(row.address);
      byAddress.set(row.address, node);
      arrived(node);
      changed = true;
    }
    for (const address of byAddress.keys()) {
      if (!seen.has(address)) {
        byAddress.delete(address);
        changed = true;
      }
    }
    for (const address of health.keys()) if (!byAddress.has(address)) health.delete(address);
    if (changed) version += 1;
  });
  yield* load;
  // Bounded staleness across replicas: at most one refresh period (never longer than the
  // announce period) behind the table.
  const refreshEvery = Math.max(100, Math.min(REFRESH_MS, settings.announceEveryMs));
  yield* Effect.forkScoped(
    Effect.repeat(
      Effect.delay(
        load.pipe(Effect.catchAll((e) => Effect.logWarning("node registry refresh failed", e))),
        refreshEvery,
      ),
      Schedule.forever,
    ),
  );

  const fresh = (node: RegisteredNode, now: number) => now - node.lastAnnouncedAt <= staleAfterMs;

  /** When each disputed endpoint was last asked who answers there (see `announce`). */
  const lookedAt = new Map<string, number>();

  /** The address of the node that answers `info` at an endpoint; `undefined` when none does in time. */
  const answeringAddress = (endpoint: string) =>
    Effect.map(
      askNode((signal) => clients.get(endpoint).info.query(undefined, { signal })),
      (info) => info?.address,
    );

  /**
   * Who answers at a disputed endpoint: asked at most once per {@link TAKEOVER_LOOK_MS} for each
   * (`undefined` within it, as when none answers), so that announcing a disputed endpoint again and
   * again (a signature costs nothing) does not make the gateway call it again and again.
   */
  const lookAt = (endpoint: string, now: number) =>
    Effect.suspend(() => {
      const looked = lookedAt.get(endpoint);
      if (looked !== undefined && now - looked < TAKEOVER_LOOK_MS) return Effect.succeed(undefined);
      if (lookedAt.size >= MAX_LOOKS) lookedAt.clear();
      lookedAt.set(endpoint, now);
      return answeringAddress(endpoint);
    });

  /** Fresh nodes offering a service, in a stable order: the list sessions are drawn from. */
  const candidates = (serviceId: string, now: number): RegisteredNode[] =>
    [...byAddress.values()]
      .filter((n) => n.offers.has(serviceId) && fresh(n, now))
      .sort((a, b) => (a.address < b.address ? -1 : a.address > b.address ? 1 : 0));

  /**
   * Whether a node this replica does not hold is known to the gateway all the same: announced
   * within `forgetAfterMs` to another replica (not loaded here yet).
   */
  const knownElsewhere = (address: string, now: number) =>
    Effect.map(
      use("nodes.known", (db) =>
        db.get<{ address: string }>(sql`select address from nodes
          where address = ${address} and status = 'active' and last_announced_at >= ${now - forgetAfterMs}`),
      ),
      (row) => row !== undefined,
    );

  /**
   * Refuses a node new to the gateway when its network brought in `newNodesPerNetworkPerHour`
   * within the hour, counted from the table (every replica's arrivals) by the `nodes_arrivals`
   * index.
   */
  const checkArrivals = (network: string, now: number) =>
    Effect.gen(function* () {
      const counted = yield* use("nodes.arrivals", (db) =>
        db.get<{ n: number; oldest: number | null }>(sql`
          select cast(count(*) as bigint) as "n", min(arrived_at) as "oldest" from nodes
          where arrived_from = ${network} and arrived_at > ${now - ARRIVALS_WINDOW_MS}`),
      );
      const arrived = Number(counted?.n ?? 0);
      if (arrived < settings.newNodesPerNetworkPerHour) return;
      const oldest = Number(counted?.oldest ?? now);
      return yield* new AnnouncementLimited({
        perHour: settings.newNodesPerNetworkPerHour,
        retryInMs: oldest + ARRIVALS_WINDOW_MS - now,
      });
    });
  /**
   * New nodes are counted and stored one at a time on this replica, so a burst of them cannot all
   * be counted before any is stored. Replicas count apart: a burst spread over several may take
   * one more per replica racing at that moment.
   */
  const arrivals = yield* Effect.makeSemaphore(1);
  const toldUnnamed = unnamedGatewayNotice();

  const toCandidate = (n: RegisteredNode): RegistryCandidate => ({
    address: n.address,
    registeredAt: n.registeredAt,
  });

  const announce = Effect.fn("NodeRegistry.announce")(function* (input: unknown, source: AnnouncementSource) {
    const now = yield* Clock.currentTimeMillis;
    const verified = verifyNodeAnnouncement(input, { now, gatewayAddress: key.address });
    if (!verified.ok) {
      return yield* new AnnouncementRefused({
        code: verified.error.code,
        detail:
          (verified.error.param === "issuedAt" ? clockDetail(input, now) : undefined) ??
          verified.error.detail ??
          verified.error.message,
      });
    }
    const { announcement } = verified.value;
    const address = announcement.node.address;
    const previous = byAddress.get(address);
    // Taken in the order the node signed them: an announcement stays valid for minutes and crosses
    // the link in the clear, so anyone who saw one could otherwise send it again after the node
    // moved or dropped a service, and point the gateway back at the old endpoint (its prompts with
    // it) or at services the node no longer serves. The same announcement again (a retried call)
    // changes nothing, not even when the node was last heard from. A node whose clock went back
    // cannot be told from such a copy here: a running node signs after the last announcement it
    // sent instead (the node's `announce-loop.ts`).
    const { issuedAt } = announcement;
    if (previous !== undefined) {
      const heldIssuedAt = previous.announcement.issuedAt;
      const same = issuedAt === heldIssuedAt && announcement.signature === previous.announcement.signature;
      if (issuedAt <= heldIssuedAt && !same)
        return yield* new AnnouncementSuperseded({ issuedAt, heldIssuedAt });
    }
    const node = toRegistered(catalog, announcement, previous?.registeredAt ?? now, now);
    const ack = (accepted: boolean, detail?: string): RegistrationAck => ({
      accepted,
      gatewayAddress: key.address,
      session: settings.session,
      nodesPerSession: settings.nodesPerSession,
      registry: Object.fromEntries(
        [...node.offers.keys()].map((s) => [s, accepted ? candidates(s, now).map(toCandidate) : []]),
      ),
      nextAnnounceMs: settings.announceEveryMs,
      // Within the protocol's bound on an acknowledgement's detail, whatever the node announced.
      ...(detail === undefined ? {} : { detail: peerText(detail, ACK_DETAIL_MAX) }),
    });
    if (node.offers.size === 0) {
      const ids = announcement.services.map((s) => s.serviceId);
      const more = ids.length - NAMED_SERVICES_MAX;
      const offered = `${ids.slice(0, NAMED_SERVICES_MAX).join(", ")}${more > 0 ? ` and ${more} more` : ""}`;
      return ack(
        false,
        `none of the announced services (${offered}) is a model service of this gateway's catalog`,
      );
    }
    // Before anything calls the endpoint (the look at a disputed one below, probes, relays).
    if (!settings.allowPrivateEndpoints) {
      const refused = yield* endpointRefusal(node.endpoint);
      if (refused !== undefined) return yield* new EndpointNotPublic({ detail: refused });
    }
    if (previous !== undefined && previous.announcement.signature === announcement.signature)
      return ack(true);
    // A node new to the gateway (never announced, or forgotten) costs a row and every replica's
    // memory and scans for `forgetAfterMs`: its network's arrivals are bounded. Checked before the
    // endpoint's look below, and again while it is stored.
    const held = previous !== undefined && now - previous.lastAnnouncedAt <= forgetAfterMs;
    const arrival = !held && !(yield* knownElsewhere(address, now));
    if (arrival) yield* checkArrivals(source.network, now);
    const holder = [...byAddress.values()].find(
      (n) => n.endpoint === node.endpoint && n.address !== address && fresh(n, now),
    );
    /** Whether the endpoint answered as this node during this call. */
    let answeredHere = false;
    if (holder !== undefined) {
      // Whoever answers at the endpoint owns it: a key that announced another node's endpoint
      // first (or kept announcing it while its owner was away) does not keep the owner out. One
      // look per endpoint per period (`lookAt`).
      const answering = yield* lookAt(node.endpoint, now);
      if (answering !== address)
        return ack(false, `endpoint ${peerText(node.endpoint)} is registered by another node`);
      answeredHere = true;
      // The holder as it is now: it may have moved to another endpoint while the look ran.
      const current = byAddress.get(holder.address);
      if (current !== undefined && current.endpoint === node.endpoint) {
        yield* use("nodes.replace", (db) =>
          db.run(sql`update nodes set status = 'removed' where address = ${holder.address}`),
        );
        byAddress.delete(holder.address);
        health.delete(holder.address);
        yield* Effect.logWarning("a node record was removed: its endpoint answers as another node").pipe(
          Effect.annotateLogs({ removed: holder.address, endpoint: node.endpoint, owner: address }),
        );
      }
    }
    const row = {
      address,
      publicKey: node.publicKey,
      endpoint: node.endpoint,
      operator: node.operator ?? null,
      announcement: JSON.stringify(announcement),
      registeredAt: node.registeredAt,
      lastAnnouncedAt: now,
      status: "active" as const,
    };
    // A node this replica does not hold (forgotten, or new here) keeps the registration time its
    // row has: every replica reads the same one. An arrival records its network and time.
    const upsert = use("nodes.upsert", (db) =>
      db.get<{ registeredAt: number }>(sql`insert into nodes
          (address, public_key, endpoint, operator, announcement, registered_at, last_announced_at, status,
            arrived_from, arrived_at)
        values (${row.address}, ${row.publicKey}, ${row.endpoint}, ${row.operator}, ${row.announcement},
          ${row.registeredAt}, ${row.lastAnnouncedAt}, ${row.status},
          ${arrival ? source.network : null}, ${arrival ? now : null})
        on conflict (address) do update set public_key = excluded.public_key, endpoint = excluded.endpoint,
          operator = excluded.operator, announcement = excluded.announcement,
          last_announced_at = excluded.last_announced_at, status = excluded.status
          ${arrival ? sql`, arrived_from = excluded.arrived_from, arrived_at = excluded.arrived_at` : sql``}
        where ${storedIssuedAt(db)} < ${issuedAt}
        returning registered_at as "registeredAt"`),
    );
    let stored = yield* arrival
      ? arrivals.withPermits(1)(Effect.zipRight(checkArrivals(source.network, now), upsert))
      : upsert;
    if (stored === undefined) {
      // Another replica took this announcement or a later one since this replica last read the
      // table, or the row holds this very announcement and was marked `removed` since.
      const held = yield* use("nodes.held", (db) =>
        db.get<{ announcement: string; status: string }>(
          sql`select announcement, status from nodes where address = ${address}`,
        ),
      );
      const heldAnnouncement = JSON.parse(held?.announcement ?? "{}") as Partial<NodeAnnouncement>;
      if (heldAnnouncement.signature !== announcement.signature)
        return yield* new AnnouncementSuperseded({
          issuedAt,
          heldIssuedAt: Number(heldAnnouncement.issuedAt),
        });
      if (held?.status !== "removed") return ack(true);
      // Removed because its endpoint answered as another node: this announcement again (a retried
      // call, or a copy anyone may have kept) is taken only once the endpoint answers as this node,
      // and is not answered as accepted while the node stays out of the draw. The node's next
      // announcement is taken as any is.
      const proven = answeredHere || (yield* lookAt(node.endpoint, now)) === address;
      if (!proven)
        return ack(
          false,
          `this node's record was removed: its endpoint ${peerText(node.endpoint)} answered as another node; it is taken again once the endpoint answers as this node`,
        );
      stored = yield* use("nodes.reinstate", (db) =>
        db.get<{ registeredAt: number }>(sql`update nodes set status = 'active', last_announced_at = ${now}
          where address = ${address} and status = 'removed' and ${storedIssuedAt(db)} = ${issuedAt}
          returning registered_at as "registeredAt"`),
      );
      // Taken meanwhile by another replica, or a later announcement: that one stands.
      if (stored === undefined) return ack(false, "this node's record changed meanwhile: announce again");
    }
    const registeredAt = stored.registeredAt;
    byAddress.set(address, registeredAt === node.registeredAt ? node : { ...node, registeredAt });
    arrived(node);
    if (previous === undefined || previous.endpoint !== node.endpoint) health.delete(address);
    version += 1;
    yield* toldUnnamed(announcement);
    return ack(true);
  });

  return {
    announce,
    candidates,
    get: (address: string): RegisteredNode | undefined => byAddress.get(address),
    list: (): RegisteredNode[] => [...byAddress.values()],
    isFresh: fresh,
    /** How long after its last announcement a node is forgotten (`routing.forgetNodesAfterMs`). */
    forgetAfterMs,
    /**
     * Nodes no longer loaded, newest announcement first, `limit` (at most
     * {@link FORGOTTEN_PAGE_MAX}) after `after`: read from the table by its `last_announced_at`
     * index, never held in memory.
     */
    forgotten: Effect.fn("NodeRegistry.forgotten")(function* (limit: number, after?: ForgottenCursor) {
      const since = (yield* Clock.currentTimeMillis) - forgetAfterMs;
      const take = Math.max(1, Math.min(FORGOTTEN_PAGE_MAX, Math.trunc(limit)));
      return yield* use("nodes.forgotten", (db) =>
        db.all<ForgottenNode>(sql`
          select address, endpoint, operator, registered_at as "registeredAt",
            last_announced_at as "lastAnnouncedAt", status
          from nodes
          where last_announced_at < ${since}
            ${after === undefined ? sql`` : sql`and (last_announced_at, address) < (${after.lastAnnouncedAt}, ${after.address})`}
          order by last_announced_at desc, address desc
          limit ${take}`),
      );
    }),
    health: (address: string): NodeHealth => health.get(address) ?? UNPROBED,
    isHealthy: (address: string): boolean => (health.get(address) ?? UNPROBED).healthy,
    /** Records one health probe: a success heals at once, failures in a row mark the node down. */
    recordProbe: (address: string, ok: boolean, now: number, latencyMs: number | undefined) => {
      const before = health.get(address) ?? UNPROBED;
      const failures = ok ? 0 : before.failures + 1;
      const healthy = ok || failures < unhealthyAfterFailures;
      if (healthy !== before.healthy) version += 1;
      health.set(address, {
        healthy,
        failures,
        checkedAt: now,
        latencyMs: ok ? latencyMs : before.latencyMs,
      });
    },
    /** A relay found the node unreachable: count it as a failed probe so traffic moves away before the next one. */
    markUnreachable: (address: string, now: number) => {
      const before = health.get(address) ?? UNPROBED;
      health.set(address, {
        ...before,
        healthy: false,
        failures: Math.max(before.failures, unhealthyAfterFailures),
        checkedAt: now,
      });
      version += 1;
    },
    /** Bumped when candidates or health change: keys cached session node sets. */
    version: () => version,
  };
});

/**
 * The nodes registered with this gateway: verified announcements (kept in the `nodes` table and
 * loaded at start), the candidates per service that sessions are drawn from, and each node's
 * health as the probes see it. A node that stops announcing ages out after a few periods.
 */
export class NodeRegistry extends Context.Tag("gateway/NodeRegistry")<
  NodeRegistry,
  Effect.Effect.Success<typeof make>
>() {
  static readonly layer = Layer.scoped(NodeRegistry, make);
}

/** The `issuedAt` of the announcement a `nodes` row holds, in the dialect's JSON syntax. */
function storedIssuedAt(db: SqlClient): SQL {
  return db.dialect === "sqlite"
    ? sql`json_extract(nodes.announcement, '$.issuedAt')`
    : sql`(nodes.announcement::jsonb ->> 'issuedAt')::bigint`;
}

/**
 * An announcement refused for its time (`stale`, or from the future): a node whose clock is off
 * by minutes sends nothing else, and is told by how much and what to do, not only that its
 * envelope is malformed. `undefined` when the announcement carries no time to compare.
 */
function clockDetail(input: unknown, now: number): string | undefined {
  const issuedAt = (input as { issuedAt?: unknown } | null)?.issuedAt;
  if (typeof issuedAt !== "number" || !Number.isFinite(issuedAt)) return undefined;
  const seconds = Math.round(Math.abs(issuedAt - now) / 1000);
  const way = issuedAt > now ? "ahead of" : "behind";
  return `node announcement: issued ${seconds} s ${way} this gateway's clock (at most ${NODE_ANNOUNCEMENT_MAX_SKEW_MS / 1000} s ahead or ${NODE_ANNOUNCEMENT_MAX_AGE_MS / 1000} s behind is taken); sync the node's clock (NTP), or this gateway's if it is the one off`;
}
