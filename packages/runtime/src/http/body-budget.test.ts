import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stalledUpload } from "../../test/support/stalled-upload.js";
import { BodyBudget, type BodyRefusal } from "./body-budget.js";
import { clientNetwork, enclosingBlock } from "./client-network.js";

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

  it("bounds the /64s of one IPv6 /48 together (a /56 or /48 holder), not callers in other /48s or IPv4 addresses", () => {
    // The gateway's /v1 budget by default: 256 MiB, a share of 32 MiB, 64 MiB for one /48.
    const limit = 256 * 1024 * 1024;
    const budget = new BodyBudget(limit, { share: BodyBudget.defaultShare(limit, 32 * 1024 * 1024) });
    expect(budget.share48).toBe(2 * budget.share);
    const taken = Array.from({ length: 8 }, (_, i) =>
      budget.take(budget.share, clientNetwork(`2001:db8:aa:${i.toString(16)}00::1`)),
    );
    // Two /64s of the /56 fill the /48's share; the other six are refused, the budget stays open.
    expect(taken).toEqual([undefined, undefined, ...Array<BodyRefusal>(6).fill("share48")]);
    expect(budget.held).toBe(limit / 4);
    expect(budget.heldBy("2001:db8:aa::/48")).toBe(limit / 4);
    expect(budget.take(1, clientNetwork("2001:db8:aa:ff00::1"))).toBe("share48");
    // A caller in the next /48, and one on IPv4, are not counted with it.
    expect(budget.take(budget.share, clientNetwork("2001:db8:ab:1::1"))).toBeUndefined();
    expect(budget.take(budget.share, clientNetwork("198.51.100.7"))).toBeUndefined();
    expect(budget.take(budget.share, clientNetwork("198.51.100.8"))).toBeUndefined();
    // Given back, the /48 holds nothing and is forgotten.
    budget.give(budget.share, clientNetwork("2001:db8:aa:0::1"));
    budget.give(budget.share, clientNetwork("2001:db8:aa:100::1"));
    expect(budget.heldBy("2001:db8:aa::/48")).toBe(0);
    expect(budget.take(budget.share, clientNetwork("2001:db8:aa:200::1"))).toBeUndefined();
    expect(new BodyBudget(100, { share: 40, share48: 10 }).share48).toBe(40);
    expect(enclosingBlock(clientNetwork("2001:DB8::1"))).toBe("2001:db8:0::/48");
    expect(enclosingBlock(clientNetwork("::ffff:203.0.113.7"))).toBeUndefined();
    expect(enclosingBlock("unknown")).toBeUndefined();
    expect(new BodyBudget(100, { share: 60 }).share48).toBe(100);
  });

  it("refuses a body larger than its sender may ever hold as neverFits, not as a share that frees up", () => {
    const budget = new BodyBudget(256 * 1024 * 1024, { share: 1024 * 1024 });
    expect(budget.take(2 * 1024 * 1024, clientNetwork("198.51.100.7"))).toBe("neverFits");
    // Part by part: the part that takes the body past the share says so, with the share empty.
    expect(budget.take(512 * 1024, "198.51.100.7", 512 * 1024)).toBeUndefined();
    budget.give(512 * 1024, "198.51.100.7");
    expect(budget.take(512 * 1024, "198.51.100.7", 1536 * 1024)).toBe("neverFits");
    expect(budget.refuseDeclared(1024 * 1024 + 1, "198.51.100.7")).toBe("neverFits");
    expect(budget.refuseDeclared(1024 * 1024, "198.51.100.7")).toBeUndefined();
    // A body of no source may be as large as the whole budget.
    expect(budget.take(2 * 1024 * 1024)).toBeUndefined();
    expect(budget.refuseDeclared(256 * 1024 * 1024 + 1, undefined)).toBe("neverFits");
  });

  it("answers a declared body larger than the share neverFits before reading it", async () => {
    refusals.length = 0;
    const small = new BodyBudget(64 * 1024, { share: 4 * 1024 });
    const s = createServer((req, res) =>
      small.readRequest(req, res, CAP, clientNetwork(req.socket.remoteAddress ?? ""), (read) =>
        res.end(read.kind === "refused" ? read.why : read.kind),
      ),
    );
    await new Promise<void>((resolve) => s.listen(0, "127.0.0.1", resolve));
    try {
      const url = `http://127.0.0.1:${(s.address() as AddressInfo).port}/`;
      const big = await fetch(url, { method: "POST", body: "x".repeat(8 * 1024) });
      expect(await big.text()).toBe("neverFits");
      expect(big.headers.get("connection")).toBe("close");
      const fits = await fetch(url, { method: "POST", body: "x".repeat(4 * 1024) });
      expect(await fits.text()).toBe("read");
      expect(small.held).toBe(0);
    } finally {
      await new Promise<void>((resolve) => s.close(() => resolve()));
    }
  });
});
