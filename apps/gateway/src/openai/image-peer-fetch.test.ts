import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { Effect } from "effect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fetchPeerImage, IMAGE_HOP_HEADER, type PeerFetchOptions } from "./image-peer-fetch.js";

/** A stand-in peer on loopback: each test sets how it answers; it records what it was asked. */
let answer: (res: ServerResponse) => void = (res) => res.end();
const asked: { url: string; headers: IncomingHttpHeaders }[] = [];
let server: Server;
let peer: string;
beforeAll(async () => {
  server = createServer((req, res) => {
    asked.push({ url: req.url ?? "", headers: req.headers });
    answer(res);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  peer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => {
  server.closeAllConnections();
  server.close();
});

const ID = `${"1".repeat(16)}-${"2".repeat(64)}`;
const options: PeerFetchOptions = {
  timeoutMs: 5_000,
  maxBytes: 1_000,
  maxSecondsLeft: 3_600,
  requestId: "req-12345678",
};
const get = (o: Partial<PeerFetchOptions> = {}) =>
  Effect.runPromise(fetchPeerImage(`${peer}/`, ID, { ...options, ...o }));

describe("fetchPeerImage", () => {
  it("asks the peer for that one path, with the hop header and no client header, and returns its bytes", async () => {
    const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 1, 2, 3]);
    answer = (res) => {
      res.writeHead(200, { "content-type": "image/png", "cache-control": "private, max-age=42" });
      res.end(png);
    };
    asked.length = 0;
    const got = await get();
    expect(got).toEqual({ kind: "image", bytes: png, secondsLeft: 42 });
    expect(asked).toHaveLength(1);
    expect(asked[0]?.url).toBe(`/v1/images/content/${ID}.png`);
    expect(asked[0]?.headers[IMAGE_HOP_HEADER]).toBe("1");
    expect(asked[0]?.headers["x-request-id"]).toBe("req-12345678");
    expect(asked[0]?.headers.authorization).toBeUndefined();
    expect(asked[0]?.headers.cookie).toBeUndefined();
  });

  it("passes on no more time to live than the image can have", async () => {
    answer = (res) => {
      res.writeHead(200, { "content-type": "image/png", "cache-control": "max-age=999999999" });
      res.end("x");
    };
    expect(await get({ maxSecondsLeft: 60 })).toMatchObject({ kind: "image", secondsLeft: 60 });
  });

  it("a 404 from the peer means the image is gone", async () => {
    answer = (res) => {
      res.writeHead(404, { "content-type": "application/json" });
      res.end("{}");
    };
    expect(await get()).toEqual({ kind: "gone" });
  });

  it("refuses an answer over the byte bound, declared or streamed, without keeping it", async () => {
    answer = (res) => {
      res.writeHead(200, { "content-type": "image/png", "content-length": "5000" });
      res.end(Buffer.alloc(5_000));
    };
    expect(await get()).toMatchObject({
      kind: "unavailable",
      reason: expect.stringMatching(/declares 5000 bytes/),
    });
    // No length declared: an endless stream is cut off at the bound.
    answer = (res) => {
      res.writeHead(200, { "content-type": "image/png" });
      const timer = setInterval(() => res.write(Buffer.alloc(512)), 1);
      res.on("close", () => clearInterval(timer));
    };
    expect(await get()).toMatchObject({
      kind: "unavailable",
      reason: expect.stringMatching(/over 1000 bytes/),
    });
  });

  it("does not follow a redirect, and refuses another status or type", async () => {
    asked.length = 0;
    answer = (res) => {
      res.writeHead(302, { location: `${peer}/elsewhere` });
      res.end();
    };
    expect(await get()).toEqual({ kind: "unavailable", reason: "status 302" });
    expect(asked.map((a) => a.url)).toEqual([`/v1/images/content/${ID}.png`]);
    answer = (res) => {
      res.writeHead(200, { "content-type": "text/html" });
      res.end("<html>");
    };
    expect(await get()).toEqual({ kind: "unavailable", reason: "not image/png" });
    answer = (res) => {
      res.writeHead(503, { "content-type": "image/png" });
      res.end();
    };
    expect(await get()).toEqual({ kind: "unavailable", reason: "status 503" });
  });

  it("gives up on a peer that never answers (the request is aborted) or refuses connections", async () => {
    let closed = false;
    answer = (res) => res.on("close", () => (closed = true));
    expect(await get({ timeoutMs: 200 })).toEqual({ kind: "unavailable", reason: "no answer within 200 ms" });
    for (let i = 0; i < 1_000 && !closed; i++) await new Promise((r) => setTimeout(r, 20));
    expect(closed).toBe(true);
    const gone = createServer();
    await new Promise<void>((resolve) => gone.listen(0, "127.0.0.1", resolve));
    const port = (gone.address() as AddressInfo).port;
    await new Promise((resolve) => gone.close(resolve));
    expect(await Effect.runPromise(fetchPeerImage(`http://127.0.0.1:${port}`, ID, options))).toMatchObject({
      kind: "unavailable",
    });
  });
});
