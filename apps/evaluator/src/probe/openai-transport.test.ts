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

/** A loopback server answering `answer(path)` as JSON (404 for `undefined`). */
async function serving(
  answer: (path: string) => unknown,
): Promise<{ url: string; close: () => Promise<void> }> {
  const server = createServer((req, res) => {
    const value = answer((req.url ?? "").split("?")[0] ?? "");
    const body = JSON.stringify(value ?? { error: { message: "not found", type: "invalid_request_error" } });
    res.writeHead(value === undefined ? 404 : 200, { "content-type": "application/json" });
    res.end(body);
  });
  await new Promise<void>((listening) => server.listen(0, "127.0.0.1", listening));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((closed) => server.close(() => closed())),
  };
}

describe("the evaluator's check of its gateway's base URL", () => {
  it("stops, naming the /v1 base URL, when the URL answers 404 to the traffic mix and lists no models", async () => {
    // A gateway's root without `/v1`, a node's port, any other server: every probe would fail there.
    const server = await serving(() => undefined);
    try {
      const transport = makeOpenAiTransport({
        baseUrl: server.url,
        apiKey: "pai_x",
        timeoutMs: 5_000,
        headers: {},
      });
      const refused = await Effect.runPromise(Effect.flip(transport.checkAccess!()));
      expect(refused.code).toBe("BACKEND_UNAVAILABLE");
      expect(refused.message).toContain("is not an OpenAI API base URL");
      expect(refused.message).toContain("ends in /v1");
      expect(refused.message).toContain("check gateway.baseUrl");
    } finally {
      await server.close();
    }
  });

  it("passes an OpenAI-compatible endpoint that is not a Pocket gateway: no traffic mix, but a model list", async () => {
    const server = await serving((path) =>
      path === "/v1/models" ? { object: "list", data: [{ id: "m", object: "model" }] } : undefined,
    );
    try {
      const transport = makeOpenAiTransport({
        baseUrl: `${server.url}/v1`,
        apiKey: "pai_x",
        timeoutMs: 5_000,
        headers: {},
      });
      await Effect.runPromise(transport.checkAccess!());
    } finally {
      await server.close();
    }
  });
});

describe("the organic samples the evaluator takes for one of a node's services", () => {
  it("asks the gateway for that service's samples and checks none served under another", async () => {
    const node = "pokt1node";
    const sample = (serviceId: string, prompt: string) => ({
      kind: "completions",
      nodeAddress: node,
      serviceId,
      prompt,
      output: " x",
      params: {},
      stream: false,
    });
    const asked: string[] = [];
    // A gateway from before `service`: it hands out every service's samples of the node.
    const server = createServer((req, res) => {
      asked.push(req.url ?? "");
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ samples: [sample("llama-2-13b", "One"), sample("mistral-7b", "Two")] }));
    });
    await new Promise<void>((listening) => server.listen(0, "127.0.0.1", listening));
    try {
      const transport = makeOpenAiTransport({
        baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`,
        apiKey: "k",
        timeoutMs: 5_000,
        headers: {},
      });
      const samples = await Effect.runPromise(transport.organicSamples!(node, "llama-2-13b"));
      expect(samples.map((s) => [s.serviceId, s.kind === "chat" ? "" : s.prompt])).toEqual([
        ["llama-2-13b", "One"],
      ]);
      expect(new URL(asked[0]!, "http://gateway").searchParams.get("service")).toBe("llama-2-13b");
    } finally {
      await new Promise<void>((closed) => server.close(() => closed()));
    }
  });
});
