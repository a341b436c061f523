import {
  canonicalJson,
  createNodeAnnouncement,
  type KeyPair,
  NODE_ANNOUNCEMENT_MAX_AGE_MS,
  NODE_ANNOUNCEMENT_MAX_SKEW_MS,
  type NodeServiceOffer,
  type SessionParams,
} from "@pocket-ai/protocol";
import { type Logger, peerText } from "@pocket-ai/runtime";
import { Duration, Effect, Layer } from "effect";
import { NodeEndpoint } from "../app/node-server.js";
import { NodeSettings } from "../app/node-settings.js";
import { describeFetchFailure } from "../backends/engine-http.js";
import { NodeClock } from "../clock/node-clock.js";
import type { GatewayCallError, GatewayClient } from "../gateway-link/gateway-client.js";
import { GatewayClients } from "../gateway-link/gateway-client.js";
import { NodeIdentity } from "../identity/node-identity.js";
import { NODE_SOFTWARE, NodeDescription } from "../info/node-info.js";
import type { SessionMembership } from "../relay/session-membership.js";
import { Membership } from "../relay/session-membership.js";
import { announceLimitedRetryMs, announceRetryMs } from "../schedules.js";

export interface AnnounceDeps {
  readonly key: KeyPair;
  readonly endpoint: string;
  readonly operator?: string;
  readonly services: readonly NodeServiceOffer[];
  readonly hardware: { gpu: string; vramGb: number; cpuOnly: boolean };
  readonly software: { name: string; version: string };
  readonly session: SessionParams;
  readonly membership: SessionMembership;
  readonly log: Logger;
  readonly now: () => number;
}

/**
 * Keeps this node registered with one gateway: a signed announcement at start, again when the
 * gateway asks (`nextAnnounceMs`), sooner after a failure. A gateway whose session parameters
 * differ from the node's is reported loudly: relays from it would all be refused.
 */
export function announceForever(
  deps: AnnounceDeps,
  gateway: GatewayClient,
  /**
   * The gateway's address in this node's config: the only key whose relays the node takes from it,
   * and the gateway each announcement is signed for.
   */
  address?: string,
): Effect.Effect<never> {
  let failures = 0;
  let saidOlder = false;
  let lastIssuedAt = Number.NEGATIVE_INFINITY;
  /**
   * The time to sign at: the clock, or just after the last announcement sent when the clock went
   * back (an NTP step) by less than a gateway ever holds an announcement for (its age and skew
   * bounds). A gateway takes a node's announcements only in the order they were signed (a copy of
   * an earlier one must not undo a later one) and cannot tell a clock that went back from such a
   * copy: signed at the clock, every announcement would be refused `ANNOUNCEMENT_SUPERSEDED`, and
   * the node left out of the draw, until the clock passed the last one's time. Further back, the
   * last time is no bound: it was never held (a clock far ahead is refused), or the clock is now
   * too far behind for any gateway to take what it signs, and the gateway's refusal says so.
   */
  const issuedAt = () => {
    const now = deps.now();
    const behind = lastIssuedAt - now;
    lastIssuedAt =
      behind >= 0 && behind < NODE_ANNOUNCEMENT_MAX_AGE_MS + NODE_ANNOUNCEMENT_MAX_SKEW_MS
        ? lastIssuedAt + 1
        : now;
    return lastIssuedAt;
  };
  /**
   * Signed for this gateway alone (its configured address): sent to another gateway, it is
   * refused there, so no one can register this node where its operator did not choose to.
   */
  const announcement = (named: boolean) =>
    createNodeAnnouncement(
      {
        endpoint: deps.endpoint,
        ...(deps.operator === undefined ? {} : { operator: deps.operator }),
        services: [...deps.services],
        hardware: deps.hardware,
        software: deps.software,
        ...(named && address !== undefined ? { gatewayAddress: address } : {}),
        issuedAt: issuedAt(),
      },
      deps.key,
    );
  const once = Effect.gen(function* () {
    const ack = yield* gateway.announce(announcement(true)).pipe(
      // A gateway older than `gatewayAddress` refuses the field as unknown. Until gateways refuse
      // announcements without it, such a gateway is sent one without it (as earlier nodes send),
      // and each announcement tries with it first, so an upgraded gateway gets it at once.
      Effect.catchIf(
        (e) => address !== undefined && refusesGatewayField(e),
        () => {
          if (!saidOlder) {
            saidOlder = true;
            deps.log.warn(
              "the gateway's version does not take an announcement that names it (gatewayAddress); announcing without it, as earlier nodes do: ask its operator to upgrade",
              { gateway: gateway.url },
            );
          }
          return gateway.announce(announcement(false));
        },
      ),
    );
    failures = 0;
    if (!ack.accepted) {
      deps.log.warn("gateway refused the registration", {
        gateway: gateway.url,
        // The gateway's own text: its beginning only.
        ...(ack.detail === undefined ? {} : { detail: peerText(ack.detail) }),
      });
      return ack.nextAnnounceMs;
    }
    const mismatched = address !== undefined && ack.gatewayAddress !== address;
    if (mismatched) {
      deps.log.error(
        "the gateway answers with another address than this node's config names; every relay it signs will be refused (UNKNOWN_GATEWAY): if that gateway is yours, set its gateways[].address to the address it answers with",
        { gateway: gateway.url, configured: address, answered: ack.gatewayAddress },
      );
    }
    if (canonicalJson(ack.session) !== canonicalJson(deps.session)) {
      deps.log.error("gateway session parameters differ from this node's; set `session` to match", {
        gateway: gateway.url,
        gatewaySession: ack.session,
        nodeSession: deps.session,
      });
    }
    // Registered, but of no use while its address is not the configured one (said above, as an
    // error). Its lists are not taken either: filed under the address it answered with, a gateway
    // could replace the lists another gateway of the config judges its relays by.
    if (mismatched) return ack.nextAnnounceMs;
    // Filed under the gateway's address (the configured one): its relays are checked against its
    // lists alone, whatever the other gateways answer.
    deps.membership.update(ack.gatewayAddress, ack.registry, ack.nodesPerSession);
    deps.log.info("registered with gateway", { gateway: gateway.url, nextAnnounceMs: ack.nextAnnounceMs });
    return ack.nextAnnounceMs;
  }).pipe(
    Effect.catchAll((e) =>
      Effect.sync(() => {
        if (e.pocketCode === "ANNOUNCE_LIMITED") {
          // Not a fault of the node or the link: the gateway takes a bounded number of new nodes per
          // network and hour. It is asked again, later; nothing else of the node stops.
          deps.log.warn(
            "the gateway takes no more new nodes from this node's network for now; announcing again later (ask its operator to raise routing.newNodesPerNetworkPerHour if this network runs many nodes)",
            { gateway: gateway.url, detail: e.reason, retryInMs: announceLimitedRetryMs },
          );
          return announceLimitedRetryMs;
        }
        failures += 1;
        if (e.pocketCode === "ANNOUNCEMENT_WRONG_GATEWAY") {
          // The config's address for this gateway is not the gateway's own: no announcement gets
          // through until it changes. Said as an error; asked again as after any failure.
          deps.log.error(
            "the gateway refuses announcements signed for the address this node's config names for it: it has another address; if that gateway is yours, set its gateways[].address to its address (its start log and GET /health show it)",
            { gateway: gateway.url, configured: address, detail: e.reason, failures },
          );
          return announceRetryMs(failures);
        }
        if (e.pocketCode === "ENDPOINT_NOT_PUBLIC") {
          // The node's configuration, not the link: no retry gets through until `publicUrl` (or the
          // gateway's setting) changes. Said as an error; asked again as after any failure.
          deps.log.error(
            "the gateway does not call this node's endpoint: its host is, or resolves to, an address that is not public (loopback, private, link-local); set publicUrl to the URL the gateway reaches this node at, or, where both share a private network, ask the gateway's operator to set routing.allowPrivateEndpoints",
            { gateway: gateway.url, endpoint: deps.endpoint, detail: e.reason, failures },
          );
          return announceRetryMs(failures);
        }
        deps.log.warn("registration failed; retrying", {
          gateway: gateway.url,
          error: describeFetchFailure(e),
          failures,
        });
        return announceRetryMs(failures);
      }),
    ),
  );
  return Effect.forever(Effect.flatMap(once, (waitMs) => Effect.sleep(Duration.millis(waitMs))));
}

/**
 * A gateway of a version older than the announcement's `gatewayAddress` refuses it as an unknown
 * field: `MALFORMED_ENVELOPE` with zod's "Unrecognized key" naming it.
 */
function refusesGatewayField(e: GatewayCallError): boolean {
  return e.pocketCode === "MALFORMED_ENVELOPE" && /Unrecognized key.*"gatewayAddress"/.test(e.reason);
}

/** Keeps the node registered with every gateway in its config, for the layer's lifetime. */
export const AnnounceLoop = Layer.scopedDiscard(
  Effect.gen(function* () {
    const { config, log } = yield* NodeSettings;
    const { key } = yield* NodeIdentity;
    const { offers } = yield* NodeDescription;
    const { trpcUrl } = yield* NodeEndpoint;
    const membership = yield* Membership;
    const clock = yield* NodeClock;
    const anyAddress = ["0.0.0.0", "::", "[::]"].includes(config.listen.host);
    if (anyAddress && config.publicUrl === undefined && config.gateways.length > 0)
      log.warn(
        "listening on every address without publicUrl: gateways are told an endpoint only this host can reach; set publicUrl to the URL gateways use to reach this node",
        { endpoint: trpcUrl },
      );
    for (const [address, gateway] of yield* GatewayClients) {
      yield* Effect.forkScoped(
        announceForever(
          {
            key,
            endpoint: trpcUrl,
            ...(config.operator === undefined ? {} : { operator: config.operator }),
            services: offers,
            hardware: config.hardware,
            software: NODE_SOFTWARE,
            session: config.session,
            membership,
            log,
            now: clock.now,
          },
          gateway,
          address,
        ),
      );
    }
  }),
);
