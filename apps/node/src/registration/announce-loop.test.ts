import { type ErrorCode, generateKeyPair, type RegistrationAck } from "@pocket-ai/protocol";
import { createLogger, PEER_TEXT_MAX } from "@pocket-ai/runtime";
import { Deferred, Effect, Fiber, TestClock, TestContext } from "effect";
import { describe, expect, it } from "vitest";
import { GatewayCallError, type GatewayClient } from "../gateway-link/gateway-client.js";
import { SessionMembership } from "../relay/session-membership.js";
import { announceLimitedRetryMs, announceRetryMs } from "../schedules.js";
import { type AnnounceDeps, announceForever } from "./announce-loop.js";

const session = { mode: "time" as const, genesisMs: 0, sessionLengthMs: 3_600_000, graceMs: 60_000 };

/** A gateway that refuses every registration with `detail`. */
const refusingGateway = (detail: string): GatewayClient => ({
  url: "http://gateway.invalid/trpc",
  announce: () =>
    Effect.succeed<RegistrationAck>({
      accepted: false,
      gatewayAddress: generateKeyPair().address,
      session,
      nodesPerSession: 3,
      registry: {},
      nextAnnounceMs: 60_000,
      detail,
    }),
  submitClaim: () => Effect.die("not called"),
  submitProof: () => Effect.die("not called"),
});

/** A gateway whose every announcement call fails with its code `pocketCode` and `reason`; `calls` counts them. */
/** A gateway's coded refusal of an announcement. */
const announceRefused = (pocketCode: ErrorCode, reason: string) =>
  Effect.fail(
    new GatewayCallError({
      gateway: "http://gateway.invalid/trpc",
      procedure: "nodes.announce",
      pocketCode,
      coded: true,
      reason,
    }),
  );

const failingGateway = (pocketCode: ErrorCode, reason: string) => {
  const gateway = {
    calls: 0,
    url: "http://gateway.invalid/trpc",
    announce: () =>
      Effect.suspend(() => {
        gateway.calls += 1;
        return announceRefused(pocketCode, reason);
      }),
    submitClaim: () => Effect.die("not called"),
    submitProof: () => Effect.die("not called"),
  } satisfies GatewayClient & { calls: number };
  return gateway;
};

const offer = {
  serviceId: "llama-2-13b",
  tiers: ["standard"],
  model: { declared: "dev", quantization: "none" },
  capabilities: {
    completions: true,
    chat: true,
    streaming: true,
    promptLogprobs: false,
    logprobs: false,
    seed: false,
    tokenize: false,
    images: null,
  },
  tokenizer: { kind: "estimate" as const, exact: false },
};

/** What the announce loop needs, logging each line to `write`. */
const depsWith = (write: (line: string) => void): AnnounceDeps => {
  const key = generateKeyPair();
  return {
    key,
    endpoint: "http://127.0.0.1:44299/trpc",
    services: [offer],
    hardware: { gpu: "", vramGb: 0, cpuOnly: true },
    software: { name: "pocket-node", version: "0.0.0" },
    session,
    membership: new SessionMembership(key.address),
    log: createLogger({ app: "node", write }),
    now: () => Date.now(),
  };
};

describe("a node's registration with a gateway", () => {
  it("says as an error that the gateway refuses an endpoint that is not public, and what to set", async () => {
    const lines: string[] = [];
    const refusing = failingGateway(
      "ENDPOINT_NOT_PUBLIC",
      "the announced endpoint's host 127.0.0.1 is not a public address",
    );
    await Effect.runPromise(
      Effect.gen(function* () {
        const loop = yield* Effect.fork(
          announceForever(
            depsWith((line) => lines.push(line)),
            refusing,
          ),
        );
        yield* TestClock.adjust(0);
        yield* Fiber.interrupt(loop);
      }).pipe(Effect.provide(TestContext.TestContext)),
    );
    const said = lines.map((line) => JSON.parse(line) as { level: string; msg: string; detail?: string });
    expect(said[0]).toMatchObject({
      level: "error",
      detail: "the announced endpoint's host 127.0.0.1 is not a public address",
    });
    expect(said[0]!.msg).toMatch(/set publicUrl.*routing\.allowPrivateEndpoints/);
  });

  it("announces again later, not in seconds, when the gateway takes no more new nodes from its network", async () => {
    const lines: string[] = [];
    const limiting = failingGateway(
      "ANNOUNCE_LIMITED",
      "this gateway took 20 new nodes from this node's network in the last hour",
    );
    await Effect.runPromise(
      Effect.gen(function* () {
        const loop = yield* Effect.fork(
          announceForever(
            depsWith((line) => lines.push(line)),
            limiting,
          ),
        );
        yield* TestClock.adjust(0);
        expect(limiting.calls).toBe(1);
        // A failure of the link would be tried again within seconds; this waits.
        yield* TestClock.adjust(announceRetryMs(5));
        expect(limiting.calls).toBe(1);
        yield* TestClock.adjust(announceLimitedRetryMs);
        expect(limiting.calls).toBe(2);
        yield* Fiber.interrupt(loop);
      }).pipe(Effect.provide(TestContext.TestContext)),
    );
    const said = lines.map((line) => JSON.parse(line) as { level: string; msg: string; detail?: string });
    expect(said).toHaveLength(2);
    expect(said[0]).toMatchObject({
      level: "warn",
      detail: "this gateway took 20 new nodes from this node's network in the last hour",
    });
    expect(said[0]!.msg).toMatch(/no more new nodes from this node's network.*announcing again later/);
  });

  it("logs the beginning only of a gateway's refusal detail", async () => {
    const lines: string[] = [];
    const detail = `${"forged\n".repeat(146)}end`;
    expect(detail.length).toBeGreaterThan(PEER_TEXT_MAX);
    const logged = await Effect.runPromise(
      Effect.gen(function* () {
        const said = yield* Deferred.make<void>();
        const deps = depsWith((line) => {
          lines.push(line);
          Deferred.unsafeDone(said, Effect.void);
        });
        const loop = yield* Effect.fork(announceForever(deps, refusingGateway(detail)));
        yield* Deferred.await(said);
        yield* Fiber.interrupt(loop);
        return lines;
      }),
    );
    expect(logged).toHaveLength(1);
    const line = JSON.parse(logged[0]!) as { msg: string; detail: string };
    expect(line.msg).toBe("gateway refused the registration");
    expect(line.detail.length).toBeLessThanOrEqual(PEER_TEXT_MAX);
    expect(line.detail.startsWith("forged\nforged\n")).toBe(true);
  });

  it("signs after its last announcement when its clock went back, so the gateway does not refuse it as superseded", async () => {
    // A gateway that takes a node's announcements in the order they were signed, as gateways do,
    // and none issued more than 30 s ahead of its own clock (`gatewayTime`).
    let held = Number.NEGATIVE_INFINITY;
    let gatewayTime = 1_000_000_000;
    const signed: number[] = [];
    const refused: string[] = [];
    const refuse = (pocketCode: ErrorCode) => {
      refused.push(pocketCode);
      return announceRefused(pocketCode, pocketCode);
    };
    const ordering: GatewayClient = {
      url: "http://gateway.invalid/trpc",
      announce: (announcement) =>
        Effect.suspend(() => {
          signed.push(announcement.issuedAt);
          if (announcement.issuedAt > gatewayTime + 30_000) return refuse("MALFORMED_ENVELOPE");
          if (announcement.issuedAt <= held) return refuse("ANNOUNCEMENT_SUPERSEDED");
          held = announcement.issuedAt;
          return Effect.succeed<RegistrationAck>({
            accepted: true,
            gatewayAddress: generateKeyPair().address,
            session,
            nodesPerSession: 3,
            registry: {},
            nextAnnounceMs: 60_000,
          });
        }),
      submitClaim: () => Effect.die("not called"),
      submitProof: () => Effect.die("not called"),
    };
    let clock = gatewayTime;
    const deps = { ...depsWith(() => undefined), now: () => clock };
    /** A minute on, for the gateway and (unless it was stepped) for the node. */
    const minute = (step = 0) =>
      Effect.suspend(() => {
        gatewayTime += 60_000;
        clock += 60_000 + step;
        return TestClock.adjust(60_000);
      });
    await Effect.runPromise(
      Effect.gen(function* () {
        const loop = yield* Effect.fork(announceForever(deps, ordering));
        yield* TestClock.adjust(0);
        // Stepped back two minutes, then three more: each announcement is signed after the last.
        yield* minute(-120_000);
        yield* minute(-180_000);
        // Set right: once the clock passes the last announcement, it signs at the clock again.
        yield* minute(300_000);
        // A clock an hour ahead is refused; set right again, it does not sign after that one.
        yield* minute(3_600_000);
        yield* minute(-3_600_000);
        yield* Fiber.interrupt(loop);
      }).pipe(Effect.provide(TestContext.TestContext)),
    );
    const start = 1_000_000_000;
    expect(signed).toEqual([
      start,
      start + 1,
      start + 2,
      start + 180_000,
      start + 240_000 + 3_600_000,
      start + 300_000,
    ]);
    expect(refused).toEqual(["MALFORMED_ENVELOPE"]);
  });
});
