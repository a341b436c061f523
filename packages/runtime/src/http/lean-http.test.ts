import http from "node:http";
import type { AddressInfo } from "node:net";
import net from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { LeanHttpError, type LeanHttpPool, leanTarget, makeLeanHttpPool } from "./lean-http.js";

const closers: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

function pool(maxSockets?: number): LeanHttpPool {
  const p = makeLeanHttpPool({ idleMs: 60_000, ...(maxSockets === undefined ? {} : { maxSockets }) });
  closers.push(() => p.close());
  return p;
}

/** A `node:http` server on loopback; counts the connections it accepted. */
async function httpServer(handler: http.RequestListener) {
  const server = http.createServer({ keepAliveTimeout: 60_000 }, handler);
  let connections = 0;
  server.on("connection", () => {
    connections++;
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  closers.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  closers.push(() => server.closeAllConnections());
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, connections: () => connections };
}

/** A raw TCP server that answers each request (once its head and body arrived) with `reply`. */
async function rawServer(reply: (socket: net.Socket, index: number) => void) {
  let connections = 0;
  let requests = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    connections++;
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    let seen = "";
    socket.on("data", (data) => {
      seen += data.toString("latin1");
      for (;;) {
        const end = seen.indexOf("\r\n\r\n");
        if (end < 0) return;
        const length = Number(/content-length: (\d+)/i.exec(seen.slice(0, end))?.[1] ?? 0);
        if (seen.length < end + 4 + length) return;
        seen = seen.slice(end + 4 + length);
        reply(socket, requests++);
      }
    });
    socket.on("error", () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  closers.push(() => {
    for (const s of sockets) s.destroy();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/x`, connections: () => connections };
}

const post = (p: LeanHttpPool, url: string, body = "{}", more: { signal?: AbortSignal; max?: number } = {}) =>
  p.request(leanTarget(url)!, {
    method: "POST",
    body,
    headers: { "content-type": "application/json" },
    signal: more.signal,
    maxBodyBytes: more.max ?? 1_000_000,
  });

describe("the lean HTTP/1.1 client", () => {
  it("posts a body, reads the answer and keeps the socket for the next call", async () => {
    const seen: {
      method: string | undefined;
      url: string | undefined;
      type: string | undefined;
      body: string;
    }[] = [];
    const server = await httpServer((req, res) => {
      let body = "";
      req.on("data", (c) => {
        body += c;
      });
      req.on("end", () => {
        seen.push({ method: req.method, url: req.url, type: req.headers["content-type"], body });
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify({ echo: JSON.parse(body), n: seen.length }));
      });
    });
    const p = pool();
    for (let i = 1; i <= 5; i++) {
      const answer = await post(p, `${server.url}/trpc/relay?x=1`, JSON.stringify({ i, text: "héllo ✓" }));
      expect(answer.status).toBe(200);
      expect(JSON.parse(answer.text)).toEqual({ echo: { i, text: "héllo ✓" }, n: i });
    }
    expect(seen[0]).toMatchObject({ method: "POST", url: "/trpc/relay?x=1", type: "application/json" });
    expect(server.connections()).toBe(1);
  });

  it("reads chunked answers, and statuses other than 200 with their text", async () => {
    const server = await httpServer((req, res) => {
      req.resume();
      req.on("end", () => {
        if (req.url === "/missing") {
          res.writeHead(404, { "content-type": "application/json" });
          res.end('{"error":"no such path"}');
          return;
        }
        res.writeHead(200, { "content-type": "text/plain" }); // no length: chunked
        res.write("first ");
        setImmediate(() => {
          res.write("second ");
          res.end("last");
        });
      });
    });
    const p = pool();
    expect(await post(p, `${server.url}/chunks`)).toEqual({ status: 200, text: "first second last" });
    expect(await post(p, `${server.url}/missing`)).toEqual({ status: 404, text: '{"error":"no such path"}' });
    expect(await post(p, `${server.url}/chunks`)).toEqual({ status: 200, text: "first second last" });
    expect(server.connections()).toBe(1);
  });

  it("reads an answer that arrives one byte at a time, after an interim 100 Continue", async () => {
    const answer =
      "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 11\r\nX-Other:  spaced \r\n\r\nhello world";
    const server = await rawServer((socket) => {
      let i = 0;
      const next = () => {
        if (i >= answer.length) return;
        socket.write(answer[i++] as string, next);
      };
      next();
    });
    expect(await post(pool(), server.url)).toEqual({ status: 200, text: "hello world" });
  });

  it("reads a body that ends with the connection, and does not reuse that socket", async () => {
    const server = await rawServer((socket) =>
      socket.end("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nto the end"),
    );
    const p = pool();
    expect(await post(p, server.url)).toEqual({ status: 200, text: "to the end" });
    expect(await post(p, server.url)).toEqual({ status: 200, text: "to the end" });
    expect(server.connections()).toBe(2);
  });

  it("sends a call again on a new socket when the kept one was closed by the server", async () => {
    // Each answer is followed by the server closing the connection without saying so first.
    const server = await rawServer((socket) => socket.end("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"));
    const p = pool();
    for (let i = 0; i < 4; i++) expect(await post(p, server.url)).toEqual({ status: 200, text: "ok" });
    expect(server.connections()).toBe(4);
  });

  it("never reuses a socket that sent bytes past its answer", async () => {
    const server = await rawServer((socket) =>
      socket.write(
        "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nextra",
      ),
    );
    const p = pool();
    expect(await post(p, server.url)).toEqual({ status: 200, text: "ok" });
    expect(await post(p, server.url)).toEqual({ status: 200, text: "ok" });
    expect(server.connections()).toBe(2);
  });

  it("refuses an answer over the body limit, by its length or as it arrives", async () => {
    const server = await rawServer((socket, index) =>
      socket.write(
        index === 0
          ? "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n"
          : `HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n40\r\n${"x".repeat(64)}\r\n`,
      ),
    );
    const p = pool();
    const declared = await post(p, server.url, "{}", { max: 50 }).catch((e: unknown) => e);
    expect(declared).toBeInstanceOf(LeanHttpError);
    expect((declared as LeanHttpError).code).toBe("RESPONSE_TOO_LARGE");
    const streamed = await post(p, server.url, "{}", { max: 50 }).catch((e: unknown) => e);
    expect((streamed as LeanHttpError).code).toBe("RESPONSE_TOO_LARGE");
  });

  it.each([
    ["garbage", "not http at all\r\n\r\n"],
    ["a bad length", "HTTP/1.1 200 OK\r\nContent-Length: -4\r\n\r\n"],
    ["two lengths", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok"],
    ["length and chunks", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n"],
    ["another coding", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n"],
    ["a bad chunk size", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"],
    ["a head with no end", `HTTP/1.1 200 OK\r\nX: ${"y".repeat(70_000)}`],
  ])("fails on %s, never hangs or crashes", async (_name, answer) => {
    const server = await rawServer((socket) => socket.write(answer));
    const error = await post(pool(), server.url).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LeanHttpError);
    expect((error as LeanHttpError).code).toBe("BAD_RESPONSE");
  });

  it("fails when the connection ends before the answer is whole", async () => {
    const server = await rawServer((socket) =>
      socket.end("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc"),
    );
    const error = await post(pool(), server.url).catch((e: unknown) => e);
    expect((error as LeanHttpError).code).toBe("ECONNRESET");
  });

  it("fails with the socket's own code when nothing listens", async () => {
    const server = await rawServer(() => undefined);
    const url = server.url;
    for (const close of closers.splice(0)) await close();
    const error = await post(pool(), url).catch((e: unknown) => e);
    expect((error as NodeJS.ErrnoException).code).toBe("ECONNREFUSED");
  });

  it("aborts with the signal's reason and closes the socket", async () => {
    let arrived!: () => void;
    let closed!: () => void;
    const request = new Promise<void>((resolve) => {
      arrived = resolve;
    });
    const socketClosed = new Promise<void>((resolve) => {
      closed = resolve;
    });
    const server = await rawServer((socket) => {
      socket.on("close", () => closed());
      socket.write("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", () => arrived());
    });
    const controller = new AbortController();
    const call = post(pool(), server.url, "{}", { signal: controller.signal });
    await request;
    controller.abort(new Error("no answer in time"));
    await expect(call).rejects.toThrow("no answer in time");
    await socketClosed;
  });

  it("opens at most maxSockets to one origin; the calls beyond wait for one, or for their abort", async () => {
    const held: net.Socket[] = [];
    let release!: () => void;
    const allHeld = new Promise<void>((resolve) => {
      release = resolve;
    });
    const server = await rawServer((socket) => {
      held.push(socket);
      if (held.length === 2) release();
      // The first two wait until both are held; the rest are answered at once.
      const answer = () => socket.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
      if (held.length <= 2) void allHeld.then(answer);
      else answer();
    });
    const p = pool(2);
    const target = server.url;
    const controller = new AbortController();
    const calls = Array.from({ length: 5 }, (_, i) =>
      post(p, target, "{}", i === 4 ? { signal: controller.signal } : {}),
    );
    controller.abort(new Error("gone while waiting"));
    const results = await Promise.allSettled(calls);
    expect(results.slice(0, 4).map((r) => r.status === "fulfilled" && r.value.text)).toEqual([
      "ok",
      "ok",
      "ok",
      "ok",
    ]);
    expect(results[4]).toMatchObject({ status: "rejected", reason: new Error("gone while waiting") });
    expect(server.connections()).toBe(2);
  });

  it("refuses headers that would split the request, and only takes http: URLs", async () => {
    expect(leanTarget("https://example.com/x")).toBeUndefined();
    expect(leanTarget("http://user:secret@127.0.0.1:8000/v1")).toBeUndefined();
    expect(leanTarget("http://[::1]:8080/a?b=c")).toMatchObject({ host: "::1", port: 8080, path: "/a?b=c" });
    const server = await httpServer((_req, res) => res.end("ok"));
    const error = await pool()
      .request(leanTarget(server.url)!, {
        method: "GET",
        headers: { "x-bad": "a\r\nInjected: yes" },
        maxBodyBytes: 100,
      })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TypeError);
  });
});
