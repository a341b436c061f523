import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stalledUpload } from "../../test/support/stalled-upload.js";
import { BodyBudget, type BodyRefusal } from "./body-budget.js";
import { clientNetwork } from "./client-network.js";

// A real server on loopback that reads bodies against a budget of 64 KiB, 16 KiB for one source
// (the caller's address: 127.0.0.1 and 127.0.0.2 are two callers here).
const refusals: BodyRefusal[] = [];
const budget = new BodyBudget(64 * 1024, { share: 16 * 1024, onRefused: (why) => refusals.push(why) });
const CAP = 12 * 1024;
let server: Server;
let port = 0;
beforeAll(async () => {
  server = createServer((req, res) => {
    budget.readRequest(req, res, CAP, clientNetwork(req.socket.remoteAddress ?? ""), (read) => {
      if (read.kind === "read") return res.end(`read ${read.body.length}`);
      res.writeHead(read.kind === "tooLarge" ? 413 : 503).end(read.kind === "refused" ? read.why : "");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  port = (server.address() as AddressInfo).port;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

/** Resolves once `check` holds (the test's own timeout bounds the wait: state decides, not a clock). */
async function until(check: () => boolean): Promise<void> {
  while (!check()) await new Promise((r) => setTimeout(r, 10));
}

describe("BodyBudget", () => {
  it("holds a source's slow uploads up to its share, refuses it past that, and still reads another source's body", async () => {
    const stranger = Array.from({ length: 3 }, () =>
      stalledUpload(port, "/", 10 * 1024, 6 * 1024, { from: "127.0.0.2" }),
    );
    // Two parts of 6 KiB fit the 16 KiB share; the third does not, and is refused at once.
    const refused = await Promise.race(stranger.map((s) => s.answer));
    expect(refused).toMatch(/^HTTP\/1.1 503/);
    expect(refused).toContain("share");
    expect(refusals).toEqual(["share"]);
    await until(() => budget.heldBy("127.0.0.2") === 12 * 1024);
    // The budget is far from full: another caller sends its whole body and is answered.
    const other = await fetch(`http://127.0.0.1:${port}/`, { method: "POST", body: "x".repeat(10 * 1024) });
    expect(await other.text()).toBe(`read ${10 * 1024}`);
    for (const s of stranger) s.socket.destroy();
    await until(() => budget.held === 0);
    expect(budget.sources).toBe(0);
  });

  it("holds what a body sent, never what it declared, with a length or without one", async () => {
    refusals.length = 0;
    const declaredBig = stalledUpload(port, "/", 12 * 1024, 1024, { from: "127.0.0.2" });
    const chunked = stalledUpload(port, "/", 0, 2048, { from: "127.0.0.2", chunked: true });
    await until(() => budget.heldBy("127.0.0.2") === 3 * 1024);
    expect(budget.held).toBe(3 * 1024);
    // A chunked body gets no further than the cap it never declared.
    const tooLarge = await stalledUpload(port, "/", 0, CAP + 1, { chunked: true }).answer;
    expect(tooLarge).toMatch(/^HTTP\/1.1 413/);
    declaredBig.socket.destroy();
    chunked.socket.destroy();
    await until(() => budget.held === 0);
    expect(refusals).toEqual([]);
  });

  it("refuses past the whole limit whatever the share, and takes a body of no source against the limit only", () => {
    const b = new BodyBudget(100, { share: 40 });
    expect(b.take(40, "a")).toBeUndefined();
    expect(b.take(1, "a")).toBe("share");
    expect(b.take(60)).toBeUndefined();
    expect(b.take(1, "b")).toBe("full");
    b.give(40, "a");
    expect(b.heldBy("a")).toBe(0);
    expect(b.held).toBe(60);
    expect(BodyBudget.defaultShare(256, 32)).toBe(32);
    expect(BodyBudget.defaultShare(64, 32)).toBe(32);
    expect(BodyBudget.defaultShare(16, 32)).toBe(16);
    expect(BodyBudget.defaultShare(1024, 32)).toBe(128);
  });
});
