import http from "node:http";
import type { AddressInfo } from "node:net";
import net from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { CancelToken } from "./cancel-token.js";
import {
  type LeanFlow,
  LeanHttpError,
  type LeanHttpPool,
  leanTarget,
  makeLeanHttpPool,
  openLeanText,
} from "./lean-http.js";

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

const post = (
  p: LeanHttpPool,
  url: string,
  body = "{}",
  more: { signal?: AbortSignal; cancel?: CancelToken; max?: number; maxError?: number } = {},
) =>
  p.request(leanTarget(url)!, {
    method: "POST",
    body,
    headers: { "content-type": "application/json" },
    signal: more.signal,
    cancel: more.cancel,
    maxBodyBytes: more.max ?? 1_000_000,
    maxErrorBodyBytes: more.maxError,
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

  it("keeps an error answer's first bytes and reads no further, whatever its length", async () => {
    const big = "e".repeat(5_000);
    const server = await rawServer((socket, index) => {
      const answers = [
        // Declared longer than the body limit: still read, up to the cut.
        `HTTP/1.1 500 Internal Server Error\r\nContent-Length: 2000000\r\n\r\n${big}`,
        `HTTP/1.1 400 Bad Request\r\nTransfer-Encoding: chunked\r\n\r\n1388\r\n${big}\r\n`,
        // Read to the close, which never comes: the cut ends the call.
        `HTTP/1.0 503 Service Unavailable\r\n\r\n${big}`,
        // An error body under the cut is read whole, and the socket kept.
        "HTTP/1.1 404 Not Found\r\nContent-Length: 7\r\n\r\nmissing",
        "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
        // A 2xx answer is not cut: over the body limit it is refused.
        `HTTP/1.1 200 OK\r\nContent-Length: ${big.length}\r\n\r\n${big}`,
      ];
      socket.write(answers[index] ?? "");
    });
    const p = pool();
    const options = { max: 1_000, maxError: 100 };
    expect(await post(p, server.url, "{}", options)).toEqual({ status: 500, text: "e".repeat(100) });
    expect(await post(p, server.url, "{}", options)).toEqual({ status: 400, text: "e".repeat(100) });
    expect(await post(p, server.url, "{}", options)).toEqual({ status: 503, text: "e".repeat(100) });
    expect(server.connections()).toBe(3);
    expect(await post(p, server.url, "{}", options)).toEqual({ status: 404, text: "missing" });
    expect(await post(p, server.url, "{}", options)).toEqual({ status: 200, text: "ok" });
    expect(server.connections()).toBe(4);
    const refused = await post(p, server.url, "{}", options).catch((e: unknown) => e);
    expect((refused as LeanHttpError).code).toBe("RESPONSE_TOO_LARGE");
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

  /** One way to abort a call: its signal, or its cancel token. */
  const aborters = [
    {
      by: "signal",
      make: () => {
        const controller = new AbortController();
        return {
          more: { signal: controller.signal },
          abort: (reason: Error) => controller.abort(reason),
        };
      },
    },
    {
      by: "cancel token",
      make: () => {
        const cancel = new CancelToken();
        return { more: { cancel }, abort: (reason: Error) => cancel.cancel(reason) };
      },
    },
  ];

  it.each(aborters)("aborts with its $by's reason and closes the socket", async ({ make }) => {
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
    const aborter = make();
    const call = post(pool(), server.url, "{}", aborter.more);
    await request;
    aborter.abort(new Error("no answer in time"));
    await expect(call).rejects.toThrow("no answer in time");
    await socketClosed;
  });

  it.each(aborters)(
    "refuses a call aborted by its $by before it starts, sending nothing",
    async ({ make }) => {
      let requests = 0;
      const server = await httpServer((_req, res) => {
        requests += 1;
        res.end("ok");
      });
      const aborter = make();
      aborter.abort(new Error("gone already"));
      await expect(post(pool(), server.url, "{}", aborter.more)).rejects.toThrow("gone already");
      expect(requests).toBe(0);
    },
  );

  it("lets a cancel token serve one call after another, and refuses it to two at once", async () => {
    const server = await httpServer((_req, res) => res.end("ok"));
    const p = pool();
    const cancel = new CancelToken();
    // A call that ended no longer watches it: the next one may (and is not cancelled by it).
    expect((await post(p, server.url, "{}", { cancel })).text).toBe("ok");
    expect((await post(p, server.url, "{}", { cancel })).text).toBe("ok");
    const slow = await rawServer(() => undefined);
    const first = post(p, slow.url, "{}", { cancel });
    await expect(post(p, server.url, "{}", { cancel })).rejects.toThrow(/one call at a time/);
    cancel.cancel(new Error("done with it"));
    await expect(first).rejects.toThrow("done with it");
    // The refused call's socket was closed, not left busy: the pool still reaches the server.
    expect((await post(p, server.url)).text).toBe("ok");
  });

  it.each(aborters)(
    "opens at most maxSockets to one origin; the calls beyond wait for one, or for their $by's abort",
    async ({ make }) => {
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
      const aborter = make();
      const calls = Array.from({ length: 5 }, (_, i) => post(p, target, "{}", i === 4 ? aborter.more : {}));
      aborter.abort(new Error("gone while waiting"));
      const results = await Promise.allSettled(calls);
      expect(results.slice(0, 4).map((r) => r.status === "fulfilled" && r.value.text)).toEqual([
        "ok",
        "ok",
        "ok",
        "ok",
      ]);
      expect(results[4]).toMatchObject({ status: "rejected", reason: new Error("gone while waiting") });
      expect(server.connections()).toBe(2);
    },
  );

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

/** A streamed exchange: its status, each part's text as it arrived, and how it settled. */
async function streamed(
  p: LeanHttpPool,
  url: string,
  more: { signal?: AbortSignal; onHead?: (flow: LeanFlow) => void; onPart?: (text: string) => void } = {},
) {
  const parts: string[] = [];
  let status = 0;
  const settled = await p
    .stream(
      leanTarget(url)!,
      { method: "POST", body: "{}", headers: { "content-type": "application/json" }, signal: more.signal },
      {
        head: (code, flow) => {
          status = code;
          more.onHead?.(flow);
        },
        data: (part) => {
          parts.push(part.toString("utf8"));
          more.onPart?.(part.toString("utf8"));
        },
      },
    )
    .then(
      () => "done" as const,
      (e: unknown) => e,
    );
  return { status, parts, settled };
}

describe("the lean client's streamed answers", () => {
  it("hands over a chunked body part by part as it is written, then keeps the socket", async () => {
    // The server writes its next line once the client has the last one.
    let writeNext = () => {};
    const server = await httpServer((_req, res) => {
      res.writeHead(200, { "content-type": "application/jsonl" });
      let n = 0;
      writeNext = () => (n === 3 ? res.end() : res.write(`line ${n++} ✓\n`));
      writeNext();
    });
    const p = pool();
    const first = await streamed(p, server.url, { onPart: () => writeNext() });
    expect(first).toMatchObject({ status: 200, settled: "done" });
    // Each write arrived on its own, in order, the UTF-8 intact.
    expect(first.parts).toEqual(["line 0 ✓\n", "line 1 ✓\n", "line 2 ✓\n"]);
    const second = await streamed(p, server.url, { onPart: () => writeNext() });
    expect(second.parts.join("")).toBe("line 0 ✓\nline 1 ✓\nline 2 ✓\n");
    expect(server.connections()).toBe(1);
  });

  it("reads a refusal's status and body, and a body by length or to the close", async () => {
    const raw = await rawServer((socket, i) => {
      if (i === 0) socket.write("HTTP/1.1 429 Too Many\r\ncontent-length: 4\r\n\r\nbusy");
      else socket.end("HTTP/1.1 200 OK\r\n\r\nuntil the end");
    });
    const p = pool();
    expect(await streamed(p, raw.url)).toMatchObject({ status: 429, parts: ["busy"], settled: "done" });
    const toClose = await streamed(p, raw.url);
    expect(toClose).toMatchObject({ status: 200, settled: "done" });
    expect(toClose.parts.join("")).toBe("until the end");
  });

  it("fails a stream cut off mid-body, and one whose bytes are not HTTP", async () => {
    const raw = await rawServer((socket, i) => {
      if (i === 0) socket.end("HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n");
      else socket.write("HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n");
    });
    const cut = await streamed(pool(), raw.url);
    expect(cut.parts).toEqual(["hello"]);
    expect(cut.settled).toMatchObject({ code: "ECONNRESET" });
    expect((await streamed(pool(), raw.url)).settled).toMatchObject({ code: "BAD_RESPONSE" });
  });

  it("ends at an abort mid-stream, closing the socket the server writes to", async () => {
    let closed!: () => void;
    const serverSawClose = new Promise<void>((resolve) => {
      closed = resolve;
    });
    const server = await httpServer((_req, res) => {
      res.writeHead(200);
      res.write("first\n");
      res.on("close", closed);
    });
    const controller = new AbortController();
    const result = await streamed(pool(), server.url, {
      signal: controller.signal,
      onPart: () => controller.abort(new Error("the reader left")),
    });
    expect(result.parts).toEqual(["first\n"]);
    expect((result.settled as Error).message).toBe("the reader left");
    await serverSawClose;
  });

  it("holds the body while paused, and leaves no paused socket in the pool", async () => {
    const server = await httpServer((_req, res) => res.end("all of it"));
    const p = pool();
    // Paused at the head: the body came in the same bytes, so the exchange ends paused.
    const paused = await streamed(p, server.url, { onHead: (flow) => flow.pause() });
    expect(paused).toMatchObject({ status: 200, parts: ["all of it"], settled: "done" });
    // The kept socket reads the next answer.
    expect(await post(p, server.url).then((r) => r.text)).toBe("all of it");
    expect(server.connections()).toBe(1);
    // A body held back by a pause arrives once resumed.
    const slow = await httpServer((_req, res) => {
      res.writeHead(200);
      res.write("one\n");
      setTimeout(() => res.end("two\n"), 20);
    });
    let flow!: LeanFlow;
    const late = streamed(p, slow.url, {
      onHead: (f) => {
        flow = f;
        f.pause();
      },
    });
    setTimeout(() => flow.resume(), 60);
    expect((await late).parts.join("")).toBe("one\ntwo\n");
  });
});

describe("a streamed answer read as text", () => {
  const open = (p: LeanHttpPool, url: string, signal?: AbortSignal) =>
    openLeanText(p, leanTarget(url)!, { method: "POST", body: "{}", signal });

  it("hands every part to a reader that starts late, pausing the socket meanwhile", async () => {
    // 300 lines of 1 KB with a multi-byte character split across writes.
    const server = await httpServer((_req, res) => {
      res.writeHead(200);
      for (let i = 0; i < 300; i++) res.write(`${String(i).padStart(4, "0")}${"é".repeat(510)}\n`);
      res.end();
    });
    const p = pool();
    const stream = await open(p, server.url);
    expect(stream.status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 30));
    let text = "";
    for await (const part of stream.parts) text += part;
    const lines = text.split("\n").filter((l) => l !== "");
    expect(lines).toHaveLength(300);
    expect(lines.every((l, i) => l === `${String(i).padStart(4, "0")}${"é".repeat(510)}`)).toBe(true);
    // The socket went back to the pool flowing.
    expect((await open(p, server.url)).status).toBe(200);
    expect(server.connections()).toBe(1);
  });

  it("throws a failure after the head from the iteration, and closes the socket when the reader leaves", async () => {
    const raw = await rawServer((socket, i) => {
      if (i === 0) socket.end("HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n");
      else socket.write("HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n");
    });
    const cut = await open(pool(), raw.url);
    const seen: string[] = [];
    const error = await (async () => {
      for await (const part of cut.parts) seen.push(part);
    })().catch((e: unknown) => e);
    expect(seen).toEqual(["abc"]);
    expect(error).toMatchObject({ code: "ECONNRESET" });
    const p = pool();
    const left = await open(p, raw.url);
    for await (const part of left.parts) {
      expect(part).toBe("abc");
      break;
    }
    // The reader left mid-body: its socket is not kept, the next call opens another.
    await open(p, raw.url).then((s) => s.parts.return?.());
    expect(raw.connections()).toBe(3);
  });
});
