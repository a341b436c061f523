import type { AddressInfo } from "node:net";
import {
  type ErrorCode,
  ErrorCodes,
  GATEWAY_PROCEDURES,
  NODE_PROCEDURES,
  type RelayResponse,
  type RelayStreamChunk,
} from "@pocket-ai/protocol";
import { TRPCClientError } from "@trpc/client";
import { TRPCError } from "@trpc/server";
import { createHTTPServer } from "@trpc/server/adapters/standalone";
import { getHTTPStatusCodeFromError } from "@trpc/server/http";
import { Data, Effect, HashMap, Logger, Stream } from "effect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import {
  type CodedFailure,
  contextFromRequest,
  logUncodedFailures,
  makeGatewayClient,
  makeGatewayNodeRouter,
  makeNodeClient,
  makeNodeRouter,
  mergeRouters,
  pocketCodeOf,
  pocketDetailOf,
  publicProcedure,
  router,
  runInContext,
  trpcCodeOf,
} from "../src/index.js";

class Refused extends Data.TaggedError("Refused")<{ readonly code: ErrorCode; readonly detail?: string }> {}

const refuse = (code: ErrorCode, detail?: string): CodedFailure =>
  new Refused(detail === undefined ? { code } : { code, detail }) as unknown as CodedFailure;

const chunk = (n: number) => ({ n }) as unknown as RelayStreamChunk;

// A node whose relay refuses every envelope and whose stream yields three chunks.
const nodeRouter = makeNodeRouter({
  relay: (input) =>
    input === "ok"
      ? Effect.succeed({ ok: true } as unknown as RelayResponse)
      : Effect.fail(refuse("INVALID_SIGNATURE", "the envelope's signature does not match")),
  relayStream: () => Effect.succeed(Stream.make(chunk(1), chunk(2), chunk(3))),
  settleCut: () => Effect.fail(refuse("UNKNOWN_RELAY", "no such stream")),
  info: () => {
    throw new Error("ENOENT: /secret/node.key");
  },
  health: () => ({ ok: true, backends: { a: true } }),
});

// A gateway whose node-facing API refuses with 402/503/504-coded failures, plus a guarded procedure.
const gatewayRouter = mergeRouters(
  makeGatewayNodeRouter({
    announce: () => Effect.fail(refuse("NO_NODES_AVAILABLE")),
    submitClaim: () => Effect.fail(refuse("BUDGET_EXHAUSTED")),
    submitProof: () => Effect.die(new Error("SQLITE_CORRUPT at /secret/gateway.sqlite")),
  }),
  router({
    admin: router({
      // Twelve required numbers, nothing else: an input refused by its schema.
      twelve: publicProcedure
        .input(
          z.strictObject(Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`n${i}`, z.number()]))),
        )
        .query(() => "ok"),
      whoami: publicProcedure.query(({ ctx }) =>
        runInContext(
          ctx,
          ctx.bearerToken === "letmein"
            ? Effect.succeed("operator")
            : Effect.fail(refuse("ADMIN_UNAUTHORIZED")),
        ),
      ),
    }),
  }),
);

// The serving app's logger: what it logs of an internal failure, kept for the tests to read.
const logged: { message: unknown; annotations: Record<string, unknown> }[] = [];
const loggingRuntime = Effect.runSync(
  Effect.runtime<never>().pipe(
    Effect.provide(
      Logger.replace(
        Logger.defaultLogger,
        Logger.make(({ message, annotations }) => {
          logged.push({ message, annotations: Object.fromEntries(HashMap.toEntries(annotations)) });
        }),
      ),
    ),
  ),
);

const servers: { url: string; close: () => void }[] = [];
let nodeUrl = "";
let gatewayUrl = "";

async function serve(appRouter: Parameters<typeof createHTTPServer>[0]["router"]) {
  const server = createHTTPServer({
    router: appRouter,
    createContext: contextFromRequest(loggingRuntime),
    onError: logUncodedFailures(loggingRuntime),
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  servers.push({ url, close: () => server.close() });
  return url;
}

beforeAll(async () => {
  nodeUrl = await serve(nodeRouter);
  gatewayUrl = await serve(gatewayRouter);
});
afterAll(() => {
  for (const s of servers) s.close();
});

const rejection = (p: Promise<unknown>) =>
  p.then(
    () => undefined,
    (e: unknown) => e,
  );

describe("the code map", () => {
  it("gives every protocol code the HTTP status of the protocol's error table", () => {
    for (const code of Object.keys(ErrorCodes) as ErrorCode[]) {
      const status = getHTTPStatusCodeFromError(new TRPCError({ code: trpcCodeOf(code) }));
      expect({ code, status }).toEqual({ code, status: ErrorCodes[code].status });
    }
    const statuses = new Set<number>(Object.values(ErrorCodes).map((e) => e.status));
    for (const status of [402, 502, 503, 504]) expect(statuses.has(status)).toBe(true);
  });
});

describe("pocketCodeOf", () => {
  it("reads only real protocol codes and never throws", () => {
    const withData = (data: unknown) => Object.assign(new TRPCClientError("x"), { data });
    expect(pocketCodeOf(withData({ pocketCode: "NODE_BUSY" }))).toBe("NODE_BUSY");
    expect(pocketCodeOf(withData({ pocketCode: "toString" }))).toBeUndefined();
    expect(pocketCodeOf(withData({ pocketCode: "NOT_A_CODE" }))).toBeUndefined();
    expect(pocketCodeOf(withData(null))).toBeUndefined();
    expect(pocketCodeOf(withData(undefined))).toBeUndefined();
    expect(pocketCodeOf(new Error("ECONNREFUSED"))).toBeUndefined();
    expect(pocketCodeOf({ data: { pocketCode: "NODE_BUSY" } })).toBeUndefined();
    expect(pocketCodeOf(null)).toBeUndefined();
  });
});

describe("the node contract", () => {
  it("serves NODE_PROCEDURES' paths", () => {
    expect(Object.keys(nodeRouter._def.procedures).sort()).toEqual(Object.values(NODE_PROCEDURES).sort());
  });

  it("answers a coded failure with its code, detail and HTTP status", async () => {
    const client = makeNodeClient(`${nodeUrl}/`);
    expect(await client.relay.mutate("ok")).toEqual({ ok: true });
    const error = await rejection(client.relay.mutate("bad"));
    expect(pocketCodeOf(error)).toBe("INVALID_SIGNATURE");
    expect(pocketDetailOf(error)).toBe("the envelope's signature does not match");
    expect((error as TRPCClientError<never>).data).toMatchObject({ httpStatus: 401, code: "UNAUTHORIZED" });
  });

  it("streams chunks in order over the split link", async () => {
    const client = makeNodeClient(`${nodeUrl}/`);
    const seen: unknown[] = [];
    for await (const c of await client.relayStream.mutate({})) seen.push(c);
    expect(seen).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }]);
    expect(await client.health.query()).toEqual({ ok: true, backends: { a: true } });
  });

  it("hides a thrown internal error's message, and names the id it logged it under", async () => {
    const response = await fetch(`${nodeUrl}/info`);
    const text = await response.text();
    expect(response.status).toBe(500);
    expect(text).not.toContain("secret");
    const { error } = JSON.parse(text) as { error: { message: string; data: { pocketCode: unknown } } };
    expect(error.data.pocketCode).toBeNull();
    // Thrown outside `runProcedure`, it is still logged, and the caller gets the id to report.
    const errorId = /\(error id ([0-9a-f]{12})\)/.exec(error.message)?.[1];
    expect(errorId).toBeDefined();
    const entry = logged.find((l) => l.annotations.errorId === errorId);
    expect(entry?.annotations).toMatchObject({ error: "Error" });
    expect(JSON.stringify(entry)).not.toContain("secret");
  });
});

describe("the gateway contract", () => {
  it("serves GATEWAY_PROCEDURES' paths", () => {
    const paths = Object.keys(makeGatewayNodeRouter({} as never)._def.procedures).sort();
    expect(paths).toEqual(Object.values(GATEWAY_PROCEDURES).sort());
  });

  it("maps 402, 503 and internal failures through the typed client", async () => {
    const client = makeGatewayClient(gatewayUrl);
    const claim = await rejection(client.settlement.submitClaim.mutate({}));
    expect(pocketCodeOf(claim)).toBe("BUDGET_EXHAUSTED");
    expect((claim as TRPCClientError<never>).data).toMatchObject({ httpStatus: 402 });
    const announce = await rejection(client.nodes.announce.mutate({}));
    expect(pocketCodeOf(announce)).toBe("NO_NODES_AVAILABLE");
    expect((announce as TRPCClientError<never>).data).toMatchObject({
      httpStatus: ErrorCodes.NO_NODES_AVAILABLE.status,
    });
    const proof = await rejection(client.settlement.submitProof.mutate({}));
    expect(pocketCodeOf(proof)).toBeUndefined();
    // The caller reads an id and what to do, never the failure's words; the app logs the id with
    // the failure's name and where it happened.
    const message = (proof as Error).message;
    expect(message).not.toMatch(/SQLITE|secret/);
    const errorId = /\(error id ([0-9a-f]{12})\)/.exec(message)?.[1];
    expect(errorId).toBeDefined();
    const entry = logged.find((l) => l.annotations.errorId === errorId);
    expect(entry?.annotations).toMatchObject({ error: "Error" });
    // Where: the function and the file's name, never the folders the app is installed in.
    expect(String(entry?.annotations.at)).toMatch(/\(link\.test\.ts:\d+:\d+\)$/);
    expect(String(entry?.annotations.at)).not.toMatch(/[/\\]/);
    expect(JSON.stringify(entry)).not.toContain("SQLITE");
  });

  it("answers an unauthenticated call with the envelope and no stack or path", async () => {
    const denied = await fetch(`${gatewayUrl}/admin.whoami`);
    const body = (await denied.json()) as { error: { message: string; data: Record<string, unknown> } };
    expect(denied.status).toBe(401);
    expect(body.error.data).toEqual({
      code: "UNAUTHORIZED",
      httpStatus: 401,
      pocketCode: "ADMIN_UNAUTHORIZED",
    });
    expect(JSON.stringify(body)).not.toMatch(/stack|path|\.ts\b|node_modules/);
    const allowed = await fetch(`${gatewayUrl}/admin.whoami`, {
      headers: { authorization: "Bearer letmein" },
    });
    expect(((await allowed.json()) as { result: { data: unknown } }).result.data).toBe("operator");
  });

  it("says which fields an input its schema refused has wrong, briefly and in plain text", async () => {
    const refusal = async (input: unknown) => {
      const response = await fetch(
        `${gatewayUrl}/admin.twelve?input=${encodeURIComponent(JSON.stringify(input))}`,
      );
      const body = (await response.json()) as { error: { message: string; data: Record<string, unknown> } };
      expect(response.status).toBe(400);
      expect(body.error.data.pocketCode).toBe("INVALID_REQUEST");
      return body.error.message;
    };
    const missing = await refusal({});
    expect(missing).toMatch(/^the input is not valid: n0: [^;]+; n1: /);
    expect(missing).toMatch(/; and 2 more$/);
    const all = Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`n${i}`, i]));
    const odd = await refusal({ ...all, [`${"k".repeat(5000)}\n\u001b[31m`]: 1 });
    expect(odd.length).toBeLessThan(400);
    expect([...odd].some((c) => c.charCodeAt(0) < 0x20)).toBe(false);
    expect(odd).toContain("…");
  });

  it("answers a body that is not JSON with INVALID_REQUEST", async () => {
    const bad = await fetch(`${gatewayUrl}/nodes.announce`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{not json",
    });
    const body = (await bad.json()) as { error: { data: Record<string, unknown> } };
    expect(body.error.data.pocketCode).toBe("INVALID_REQUEST");
  });

  it("answers an unknown procedure, a wrong method or content type with INVALID_REQUEST under tRPC's status", async () => {
    const cases: [string, RequestInit, number][] = [
      ["/no.such.procedure", {}, 404],
      ["/nodes.announce", { method: "GET" }, 405],
      ["/admin.whoami", { method: "PUT", body: "{}", headers: { "content-type": "application/json" } }, 405],
      ["/nodes.announce", { method: "POST", body: "{}", headers: { "content-type": "text/plain" } }, 415],
    ];
    for (const [path, init, status] of cases) {
      const response = await fetch(`${gatewayUrl}${path}`, init);
      expect(response.status).toBe(status);
      const body = (await response.json()) as { error: { data: Record<string, unknown> } };
      expect(body.error.data.pocketCode).toBe("INVALID_REQUEST");
      expect(JSON.stringify(body)).not.toMatch(/stack|\.ts\b|node_modules/);
    }
  });
});
