import http from "node:http";
import type { RelayResponse } from "@pocket-ai/protocol";
import { BodyBudget, clientNetwork, serveHttp } from "@pocket-ai/runtime";
import { stalledUpload } from "@pocket-ai/runtime/testing";
import { Effect, Exit, Runtime, Scope } from "effect";
import { afterAll, beforeAll, expect, it } from "vitest";
import {
  makeNodeRelayClient,
  makeNodeRelayHandler,
  makeNodeRouter,
  type NodeRelayApi,
} from "../src/index.js";

// Bodies are read whole before anything is verified: many connections that send most of a body and
// stall must hold no more than the budget, and a relay sent once they are gone is served.
const impl: NodeRelayApi = {
  relay: (input) => Effect.succeed({ ok: true, input } as unknown as RelayResponse),
  relayStream: () => Effect.succeed([]),
  settleCut: () => Effect.succeed({ status: "settled" }),
  info: () => ({ address: "0xnode" }) as never,
  health: () => ({ ok: true, backends: {} }),
};
const budget = new BodyBudget(64 * 1024);
const direct = makeNodeRelayHandler({
  impl,
  router: makeNodeRouter(impl),
  runtime: Runtime.defaultRuntime,
  basePath: "/trpc/",
  maxBodySize: 48 * 1024,
  bodyBudget: budget,
});
// The same handler at /shared/ with a budget of 256 KiB, 64 KiB for one caller's network
// (127.0.0.1 and 127.0.0.2 are two here).
const shared = new BodyBudget(256 * 1024, { share: 64 * 1024 });
const sharedDirect = makeNodeRelayHandler({
  impl,
  router: makeNodeRouter(impl),
  runtime: Runtime.defaultRuntime,
  basePath: "/shared/",
  maxBodySize: 48 * 1024,
  bodyBudget: shared,
  bodySource: (req) => clientNetwork(req.socket.remoteAddress ?? ""),
});
// At /small/, a budget below the largest body (a small text-only node's): 32 KiB, 16 KiB for one network.
const small = new BodyBudget(32 * 1024, { share: 16 * 1024 });
const smallDirect = makeNodeRelayHandler({
  impl,
  router: makeNodeRouter(impl),
  runtime: Runtime.defaultRuntime,
  basePath: "/small/",
  maxBodySize: 48 * 1024,
  bodyBudget: small,
  bodySource: (req) => clientNetwork(req.socket.remoteAddress ?? ""),
});
const scope = Effect.runSync(Scope.make());
let port = 0;
let url = "";
beforeAll(async () => {
  const server = await Effect.runPromise(
    Scope.extend(
      serveHttp({
        host: "127.0.0.1",
        port: 0,
        handler: (req, res) => {
          if (!direct(req, res) && !sharedDirect(req, res) && !smallDirect(req, res))
            res.writeHead(404).end();
        },
      }),
      scope,
    ),
  );
  port = server.port;
  url = `${server.url}/trpc`;
});
afterAll(() => Effect.runPromise(Scope.close(scope, Exit.void)));

/** Resolves once `check` holds (the test's own timeout bounds the wait: state decides, not a clock). */
async function until(check: () => boolean): Promise<void> {
  while (!check()) await new Promise((r) => setTimeout(r, 20));
}

const stalled = (declared: number, sent: number) => stalledUpload(port, "/trpc/relay", declared, sent);

it("holds at most the budget for stalled bodies, refuses past it with 503 NODE_BUSY, and gives every byte back", async () => {
  const held = Array.from({ length: 2 }, () => stalled(40 * 1024, 30 * 1024));
  await until(() => budget.held === 60 * 1024);
  const refused = await Promise.all(Array.from({ length: 8 }, () => stalled(40 * 1024, 30 * 1024).answer));
  for (const text of refused) {
    expect(text).toMatch(/^HTTP\/1.1 503/);
    expect(text).toContain('"pocketCode":"NODE_BUSY"');
    expect(text.toLowerCase()).toContain("connection: close");
  }
  expect(budget.held).toBeLessThanOrEqual(budget.limit);
  for (const s of held) s.socket.destroy();
  await until(() => budget.held === 0);
  const agent = new http.Agent({ keepAlive: true });
  const answer = await makeNodeRelayClient(url, { agent }).relay.mutate({ kind: "ok" });
  agent.destroy();
  expect(answer).toMatchObject({ ok: true });
  expect(budget.held).toBe(0);
});

it("refuses one network's stalled bodies past its share with 503 NODE_BUSY while another network's relay is served", async () => {
  const stranger = Array.from({ length: 6 }, () =>
    stalledUpload(port, "/shared/relay", 40 * 1024, 30 * 1024, { from: "127.0.0.2" }),
  );
  // Two fit the share (more are refused if their parts came interleaved); what is not refused is held.
  const refused: string[] = [];
  for (const s of stranger) void s.answer.then((text) => refused.push(text));
  await until(() => refused.length >= 4 && shared.heldBy("127.0.0.2") === (6 - refused.length) * 30 * 1024);
  for (const text of refused) {
    expect(text).toMatch(/^HTTP\/1.1 503/);
    expect(text).toContain('"pocketCode":"NODE_BUSY"');
    expect(text).toContain("from your network");
  }
  // The whole budget is far from full: a relay from 127.0.0.1 is read and served.
  const agent = new http.Agent({ keepAlive: true });
  const answer = await makeNodeRelayClient(`${url.replace(/trpc$/, "shared")}`, { agent }).relay.mutate({
    kind: "ok",
  });
  agent.destroy();
  expect(answer).toMatchObject({ ok: true });
  for (const s of stranger) s.socket.destroy();
  await until(() => shared.held === 0);
});

it("says a body larger than one network's share never fits this node (NODE_BUSY: the gateway tries another), and serves one that fits", async () => {
  const declared = await stalledUpload(port, "/small/relay", 20 * 1024, 0).answer;
  const chunked = await stalledUpload(port, "/small/relay", 0, 20 * 1024, { chunked: true }).answer;
  for (const text of [declared, chunked]) {
    expect(text).toMatch(/^HTTP\/1.1 503/);
    expect(text).toContain('"pocketCode":"NODE_BUSY"');
    expect(text).toContain("at most 16384 bytes of request bodies from one network at once");
    expect(text).toContain("never taken here");
  }
  expect(small.held).toBe(0);
  const agent = new http.Agent({ keepAlive: true });
  const answer = await makeNodeRelayClient(`${url.replace(/trpc$/, "small")}`, { agent }).relay.mutate({
    kind: "ok",
    text: "x".repeat(8 * 1024),
  });
  agent.destroy();
  expect(answer).toMatchObject({ ok: true });
});
