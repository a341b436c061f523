import { createServer, type Server } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { leanTarget, makeLeanHttpPool } from "./lean-http.js";
import { isPublicAddress, NotPublicAddressError, publicAddressLookup } from "./public-address.js";

describe("isPublicAddress", () => {
  it.each([
    "127.0.0.1",
    "127.255.0.9",
    "10.0.0.1",
    "172.16.0.1",
    "172.31.255.255",
    "192.168.0.1",
    "100.64.0.1",
    "100.127.255.255",
    "169.254.169.254",
    "0.0.0.0",
    "224.0.0.251",
    "255.255.255.255",
    "::",
    "::1",
    "fe80::1",
    "fc00::1",
    "fd12:3456::1",
    "ff02::1",
    "::ffff:127.0.0.1",
    "::ffff:169.254.169.254",
    // NAT64 and 6to4 addresses carrying a private IPv4 address.
    "64:ff9b::7f00:1",
    "64:ff9b::169.254.169.254",
    "64:ff9b:1::a00:1",
    "64:ff9b:1:2::808:808",
    "2002:c0a8:1::1",
    "2002:7f00:1::",
    "localhost",
    "",
  ])("refuses %s", (address) => {
    expect(isPublicAddress(address)).toBe(false);
  });

  it.each([
    "8.8.8.8",
    "1.1.1.1",
    "100.63.255.255",
    "100.128.0.1",
    "172.15.255.255",
    "172.32.0.1",
    "2001:4860:4860::8888",
    "::ffff:8.8.8.8",
    "64:ff9b::808:808",
    "64:ff9b::8.8.8.8",
    "2002:808:808::1",
  ])("takes %s", (address) => {
    expect(isPublicAddress(address)).toBe(true);
  });
});

describe("publicAddressLookup", () => {
  let server: Server;
  let port = 0;
  const accepted: number[] = [];
  beforeAll(async () => {
    server = createServer((socket) => {
      accepted.push(1);
      socket.once("data", () => socket.end("HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok"));
    });
    await new Promise<void>((ready) => server.listen(0, "127.0.0.1", ready));
    port = (server.address() as { port: number }).port;
  });
  afterAll(() => new Promise<void>((closed) => server.close(() => closed())));

  it("fails a name that resolves to loopback only, as `net.connect` asks (one address or all)", async () => {
    for (const all of [false, true]) {
      const error = await new Promise<unknown>((done) =>
        publicAddressLookup("localhost", { all }, (e) => done(e)),
      );
      expect(error).toBeInstanceOf(NotPublicAddressError);
      expect((error as NotPublicAddressError).code).toBe("ENOTPUBLIC");
    }
  });

  it("keeps the lean pool off a loopback name: no connection is made", async () => {
    const target = leanTarget(`http://localhost:${port}/x`);
    if (target === undefined) throw new Error("an http: target");
    const guarded = makeLeanHttpPool({ idleMs: 1_000, lookup: publicAddressLookup });
    const open = makeLeanHttpPool({ idleMs: 1_000 });
    try {
      accepted.length = 0;
      await expect(guarded.request(target, { method: "GET", maxBodyBytes: 100 })).rejects.toThrow(
        /localhost resolves to no public address/,
      );
      expect(accepted).toEqual([]);
      // The same call without the lookup reaches the server: the refusal above is the lookup's.
      expect(await open.request(target, { method: "GET", maxBodyBytes: 100 })).toEqual({
        status: 200,
        text: "ok",
      });
      expect(accepted).toEqual([1]);
    } finally {
      guarded.close();
      open.close();
    }
  });
});
