import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Effect } from "effect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeOpenAiTransport } from "./openai-transport.js";

/**
 * A gateway on loopback that refuses the evaluator's key its evaluator routes, as a gateway does
 * for a key without role evaluator.
 */
let gateway: Server;
let baseUrl: string;
beforeAll(async () => {
  gateway = createServer((_req, res) => {
    const body = JSON.stringify({
      error: {
        code: "PERMISSION_DENIED",
        type: "permission_error",
        message: "only evaluator keys may read the traffic mix",
      },
    });
    res.writeHead(403, { "content-type": "application/json", "content-length": String(body.length) });
    res.end(body);
  });
  await new Promise<void>((listening) => gateway.listen(0, "127.0.0.1", listening));
  baseUrl = `http://127.0.0.1:${(gateway.address() as AddressInfo).port}/v1`;
});
afterAll(() => new Promise<void>((closed) => gateway.close(() => closed())));

describe("the evaluator's check of its gateway access", () => {
  it("stops on a key without role evaluator with PERMISSION_DENIED, saying how to give it the role", async () => {
    const transport = makeOpenAiTransport({ baseUrl, apiKey: "pai_customer", timeoutMs: 5_000, headers: {} });
    const refused = await Effect.runPromise(Effect.flip(transport.checkAccess!()));
    expect(refused.code).toBe("PERMISSION_DENIED");
    expect(refused.message).toMatch(/^PERMISSION_DENIED: .*refused it an evaluator's request \(403\)/);
    expect(refused.message).toContain("--role evaluator");
  });
});
