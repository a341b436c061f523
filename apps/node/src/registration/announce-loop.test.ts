import { generateKeyPair, type RegistrationAck } from "@pocket-ai/protocol";
import { createLogger, PEER_TEXT_MAX } from "@pocket-ai/runtime";
import { Deferred, Effect, Fiber } from "effect";
import { describe, expect, it } from "vitest";
import type { GatewayClient } from "../gateway-link/gateway-client.js";
import { SessionMembership } from "../relay/session-membership.js";
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

describe("a node's registration with a gateway", () => {
  it("logs the beginning only of a gateway's refusal detail", async () => {
    const lines: string[] = [];
    const detail = `${"forged\n".repeat(146)}end`;
    expect(detail.length).toBeGreaterThan(PEER_TEXT_MAX);
    const logged = await Effect.runPromise(
      Effect.gen(function* () {
        const said = yield* Deferred.make<void>();
        const log = createLogger({
          app: "node",
          write: (line) => {
            lines.push(line);
            Deferred.unsafeDone(said, Effect.void);
          },
        });
        const key = generateKeyPair();
        const deps: AnnounceDeps = {
          key,
          endpoint: "http://127.0.0.1:44299/trpc",
          services: [
            {
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
              tokenizer: { kind: "estimate", exact: false },
            },
          ],
          hardware: { gpu: "", vramGb: 0, cpuOnly: true },
          software: { name: "pocket-node", version: "0.0.0" },
          session,
          membership: new SessionMembership(key.address),
          log,
          now: () => Date.now(),
        };
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
});
