import http from "node:http";
import type { AddressInfo } from "node:net";
import { type ClaimSubmission, generateKeyPair, type SignedNodeAnnouncement } from "@pocket-ai/protocol";
import { PEER_TEXT_MAX } from "@pocket-ai/runtime";
import { Effect, Either } from "effect";
import { afterEach, describe, expect, it } from "vitest";
import { makeGatewayClient } from "./gateway-client.js";

/** A gateway's tRPC endpoint that answers every call with one error envelope, counting the calls. */
async function refusingGateway(
  status: number,
  data: Record<string, unknown> | undefined,
  message = "refused (test)",
) {
  let calls = 0;
  const server = http.createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      calls += 1;
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify({ error: { message, code: -32009, ...(data && { data }) } }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/trpc`;
  return { url, calls: () => calls, close: () => new Promise<void>((r) => server.close(() => r())) };
}

/** A gateway's tRPC endpoint that answers every call with `data`. */
async function answeringGateway(data: unknown) {
  const server = http.createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ result: { data } }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/trpc`;
  return { url, close: () => new Promise<void>((r) => server.close(() => r())) };
}

let close: (() => Promise<void>) | undefined;
afterEach(async () => {
  await close?.();
  close = undefined;
});

const claim = { v: 1 } as unknown as ClaimSubmission;

describe("a node's call to a gateway", () => {
  it("is not sent again when the gateway answers with a code, known to this version or newer", async () => {
    for (const pocketCode of ["CLAIM_WINDOW_CLOSED", "A_CODE_OF_A_NEWER_GATEWAY"]) {
      const gateway = await refusingGateway(409, { code: "CONFLICT", httpStatus: 409, pocketCode });
      close = gateway.close;
      const result = await Effect.runPromise(
        Effect.either(makeGatewayClient(gateway.url).submitClaim(claim)),
      );
      expect(Either.isLeft(result)).toBe(true);
      const error = Either.isLeft(result) ? result.left : undefined;
      // A code this version knows is read; a newer one is still an answer, not a fault.
      expect(error?.pocketCode).toBe(pocketCode === "CLAIM_WINDOW_CLOSED" ? pocketCode : undefined);
      expect(error?.coded).toBe(true);
      expect(gateway.calls()).toBe(1);
      await gateway.close();
      close = undefined;
    }
  });

  it("is sent again a few times when the answer carries no code (a transport fault)", async () => {
    const gateway = await refusingGateway(502, undefined);
    close = gateway.close;
    const result = await Effect.runPromise(Effect.either(makeGatewayClient(gateway.url).submitClaim(claim)));
    expect(Either.isLeft(result) && result.left.coded).toBe(false);
    expect(gateway.calls()).toBe(4);
  });

  it("reads a newer gateway's acknowledgement, dropping the fields this version does not know", async () => {
    const ack = {
      accepted: true,
      gatewayAddress: generateKeyPair().address,
      session: { mode: "time", genesisMs: 0, sessionLengthMs: 3_600_000, graceMs: 60_000 },
      nodesPerSession: 3,
      registry: { "llama-2-13b": [] },
      nextAnnounceMs: 60_000,
    };
    const gateway = await answeringGateway({ ...ack, regionHint: "eu-west" });
    close = gateway.close;
    const announcement = { v: 1 } as unknown as SignedNodeAnnouncement;
    const result = await Effect.runPromise(
      Effect.either(makeGatewayClient(gateway.url).announce(announcement)),
    );
    expect(result).toEqual(Either.right(ack));
  });

  it("still refuses an acknowledgement whose known fields are off-schema", async () => {
    const gateway = await answeringGateway({ accepted: "yes" });
    close = gateway.close;
    const announcement = { v: 1 } as unknown as SignedNodeAnnouncement;
    const result = await Effect.runPromise(
      Effect.either(makeGatewayClient(gateway.url).announce(announcement)),
    );
    expect(Either.isLeft(result) && result.left.reason).toMatch(/^answer off-schema/);
  });

  it("keeps the beginning only of a gateway's refusal message, however long", async () => {
    const message = `${"forged line\n".repeat(50_000)}end`;
    const data = { code: "CONFLICT", httpStatus: 409, pocketCode: "MALFORMED_ENVELOPE" };
    const gateway = await refusingGateway(409, data, message);
    close = gateway.close;
    const result = await Effect.runPromise(Effect.either(makeGatewayClient(gateway.url).submitClaim(claim)));
    const reason = Either.isLeft(result) ? result.left.reason : "";
    expect(reason.length).toBeLessThanOrEqual(PEER_TEXT_MAX);
    expect(reason.startsWith("forged line\nforged line\n")).toBe(true);
  });
});
