import http from "node:http";
import net, { type AddressInfo } from "node:net";
import type { ErrorCode, RelayResponse, RelayStreamChunk } from "@pocket-ai/protocol";
import { CancelToken, type LeanHttpPool, makeLeanHttpPool } from "@pocket-ai/runtime";
import type { TRPCClientError } from "@trpc/client";
import { createHTTPHandler } from "@trpc/server/adapters/standalone";
import { Data, Effect, Runtime, Stream } from "effect";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import {
  type CodedFailure,
  contextFromRequest,
  makeNodeClient,
  makeNodeRelayClient,
  makeNodeRelayHandler,
  makeNodeRouter,
  type NodeRelayApi,
  pocketCodeOf,
  pocketDetailOf,
} from "../src/index.js";
import { chunkLine, STREAM_END_LINE, STREAM_PRELUDE } from "../src/node-relay-wire.js";

class Refused extends Data.TaggedError("Refused")<{ readonly code: ErrorCode; readonly detail?: string }> {}
const refuse = (code: ErrorCode, detail: string): CodedFailure =>
  new Refused({ code, detail }) as unknown as CodedFailure;
const chunk = (n: number, text = "") => ({ n, text }) as unknown as RelayStreamChunk;

/** What the node saw of each stream: whether its chunks were ended, and whether its signal aborted. */
const streams = new Map<string, { ended: Promise<void>; aborted: () => boolean }>();
/** A promise and what settles it. */
const latch = () => {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
};
/** Relays that wait for their caller to leave: started, then interrupted. */
const hanging = new Map<
  string,
  { started: ReturnType<typeof latch>; interrupted: ReturnType<typeof latch> }
>();
const hangingRelay = (id: string) => {
  let relay = hanging.get(id);
  if (relay === undefined) {
    relay = { started: latch(), interrupted: latch() };
    hanging.set(id, relay);
  }
  return relay;
};

// A node whose inputs pick the answer: ok, a coded refusal, a defect naming a secret path, three
// chunks (as an Effect stream or a plain generator), a stream that fails to open or mid-way, and
// one that yields a chunk then waits for the caller to leave.
const impl: NodeRelayApi = {
  relay: (input) => {
    const kind = (input as { kind?: string } | undefined)?.kind;
    if (kind === "ok") return Effect.succeed({ ok: true, input } as unknown as RelayResponse);
    if (kind === "defect") return Effect.die(new Error("ENOENT: /secret/node.key"));
    if (kind === "hang") {
      const relay = hangingRelay((input as { id: string }).id);
      return Effect.sync(() => relay.started.resolve()).pipe(
        Effect.zipRight(Effect.never),
        Effect.onInterrupt(() => Effect.sync(() => relay.interrupted.resolve())),
      );
    }
    return Effect.fail(refuse("INVALID_SIGNATURE", "the envelope's signature does not match"));
  },
  relayStream: (input, signal) => {
    const { kind, id } = (input ?? {}) as { kind?: string; id?: string };
    if (kind === "refuse") return Effect.fail(refuse("NODE_BUSY", "queue full"));
    if (kind === "effect") return Effect.succeed(Stream.make(chunk(1), chunk(2), chunk(3)));
    if (kind === "many")
      return Effect.succeed(
        Stream.fromIterable(Array.from({ length: 300 }, (_, i) => chunk(i, "x".repeat(200)))),
      );
    return Effect.succeed(
      (async function* () {
        let end!: () => void;
        const ended = new Promise<void>((resolve) => {
          end = resolve;
        });
        if (id !== undefined) streams.set(id, { ended, aborted: () => signal?.aborted === true });
        try {
          // A first chunk that comes after the stream opened, once its reader had time to read.
          if (kind === "late") await new Promise<void>((resolve) => setTimeout(resolve, 20));
          yield chunk(1, 'line\n"quoted" ✓');
          if (kind === "hang")
            await new Promise<void>((resolve) => signal?.addEventListener("abort", () => resolve()));
          yield chunk(2);
          if (kind === "break") throw new Error("SQLITE_CORRUPT at /secret/node.sqlite");
          yield chunk(3);
        } finally {
          end();
        }
      })(),
    );
  },
  settleCut: () => Effect.fail(refuse("UNKNOWN_RELAY", "no such stream")),
  info: () => ({ address: "0xnode" }) as never,
  health: () => ({ ok: true, backends: {} }),
};

const router = makeNodeRouter(impl);
const runtime = Runtime.defaultRuntime;
const basePath = "/trpc/";
const maxBodySize = 4096;
const trpc = createHTTPHandler({ router, basePath, maxBodySize, createContext: contextFromRequest(runtime) });
const direct = makeNodeRelayHandler({ impl, router, runtime, basePath, maxBodySize });
const servedDirect = { count: 0 };

const servers: http.Server[] = [];
const agent = new http.Agent({ keepAlive: true });
const lean = makeLeanHttpPool({ idleMs: 5_000 });
/** Connections each test server accepted. */
const connections = new Map<string, number>();
let directUrl = "";
let trpcUrl = "";

async function serve(handler: http.RequestListener): Promise<string> {
  const server = http.createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  servers.push(server);
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/trpc`;
  server.on("connection", () => connections.set(url, (connections.get(url) ?? 0) + 1));
  return url;
}

beforeAll(async () => {
  // The node as it serves: relay calls on the direct path, the rest through tRPC.
  directUrl = await serve((req, res) => {
    if (direct(req, res)) servedDirect.count++;
    else trpc(req, res);
  });
  // A node served by tRPC's own adapter alone: the reference for the wire format.
  trpcUrl = await serve((req, res) => trpc(req, res));
});
afterAll(() => {
  agent.destroy();
  lean.close();
  for (const s of servers) s.close();
});

const rejection = (p: Promise<unknown>) =>
  p.then(
    () => undefined,
    (e: unknown) => e,
  );

async function collect(iterable: AsyncIterable<unknown>): Promise<{ chunks: unknown[]; error?: unknown }> {
  const chunks: unknown[] = [];
  try {
    for await (const c of iterable) chunks.push(c);
    return { chunks };
  } catch (error) {
    return { chunks, error };
  }
}

const pairs = [
  {
    name: "tRPC's client → the direct path",
    server: () => directUrl,
    client: (url: string) => makeNodeClient(url),
  },
  {
    name: "the direct caller → tRPC's adapter",
    server: () => trpcUrl,
    client: (url: string) => makeNodeRelayClient(url, { agent }),
  },
  {
    name: "the direct caller → the direct path",
    server: () => directUrl,
    client: (url: string) => makeNodeRelayClient(url, { agent }),
  },
  {
    name: "the direct caller on lean sockets → tRPC's adapter",
    server: () => trpcUrl,
    client: (url: string) => makeNodeRelayClient(url, { agent, lean }),
  },
  {
    name: "the direct caller on lean sockets → the direct path",
    server: () => directUrl,
    client: (url: string) => makeNodeRelayClient(url, { agent, lean }),
  },
] as const;

describe.each(pairs)("the relay wire: $name", ({ server, client: makeClient }) => {
  it("answers a relay, and a coded refusal with its code, detail and HTTP status", async () => {
    const client = makeClient(server());
    expect(await client.relay.mutate({ kind: "ok" })).toEqual({ ok: true, input: { kind: "ok" } });
    const error = await rejection(client.relay.mutate({ kind: "bad" }));
    expect(pocketCodeOf(error)).toBe("INVALID_SIGNATURE");
    expect(pocketDetailOf(error)).toBe("the envelope's signature does not match");
    expect((error as TRPCClientError<never>).data).toMatchObject({ httpStatus: 401, code: "UNAUTHORIZED" });
  });

  it("hides a defect's message", async () => {
    const error = await rejection(makeClient(server()).relay.mutate({ kind: "defect" }));
    expect(pocketCodeOf(error)).toBeUndefined();
    expect((error as TRPCClientError<never>).data).toMatchObject({ httpStatus: 500, pocketCode: null });
    expect(JSON.stringify(error)).not.toContain("secret");
    expect((error as Error).message).not.toContain("secret");
  });

  it("streams chunks in order, from an Effect stream and a generator, text intact", async () => {
    const client = makeClient(server());
    expect(await collect(await client.relayStream.mutate({ kind: "effect" }))).toEqual({
      chunks: [chunk(1), chunk(2), chunk(3)],
    });
    expect(await collect(await client.relayStream.mutate({ kind: "gen" }))).toEqual({
      chunks: [chunk(1, 'line\n"quoted" ✓'), chunk(2), chunk(3)],
    });
    expect(await client.health.query()).toEqual({ ok: true, backends: {} });
  });

  it("fails a stream that cannot open with its code, and one that breaks with nothing leaked", async () => {
    const client = makeClient(server());
    const opened = await rejection(
      client.relayStream
        .mutate({ kind: "refuse" })
        .then((it) => collect(it).then((r) => Promise.reject(r.error))),
    );
    expect(pocketCodeOf(opened)).toBe("NODE_BUSY");
    expect(pocketDetailOf(opened)).toBe("queue full");
    const broken = await collect(await client.relayStream.mutate({ kind: "break" }));
    expect(broken.chunks).toHaveLength(2);
    expect((broken.error as TRPCClientError<never>).data).toMatchObject({
      pocketCode: null,
      httpStatus: 500,
    });
    expect((broken.error as Error).message).not.toContain("secret");
    // The direct path answers a broken stream with an error id, as it answers a failed relay.
    if (server() === directUrl) expect((broken.error as Error).message).toMatch(/\(error id [0-9a-f]{12}\)/);
  });

  it("holds a stream the caller reads late, then hands over every chunk in order", async () => {
    const iterable = await makeClient(server()).relayStream.mutate({ kind: "many" });
    // Unread chunks pause the connection; reading resumes it.
    await new Promise((resolve) => setTimeout(resolve, 50));
    const { chunks, error } = await collect(iterable);
    expect(error).toBeUndefined();
    expect(chunks.map((c) => (c as { n: number }).n)).toEqual(Array.from({ length: 300 }, (_, i) => i));
  });

  it("ends the node's chunks when the caller stops reading mid-stream", async () => {
    const id = `${server()}-${Math.random()}`;
    const controller = new AbortController();
    const iterable = await makeClient(server()).relayStream.mutate(
      { kind: "hang", id },
      { signal: controller.signal },
    );
    const iterator = iterable[Symbol.asyncIterator]();
    expect((await iterator.next()).value).toEqual(chunk(1, 'line\n"quoted" ✓'));
    controller.abort();
    await iterator.return?.();
    await streams.get(id)?.ended;
    expect(streams.get(id)?.aborted()).toBe(true);
  });
});

describe.each(pairs.slice(1))("a relay's abort: $name", ({ server, client: makeClient }) => {
  it.each([
    {
      by: "cancel token",
      make: () => {
        const cancel = new CancelToken();
        return { options: { cancel }, abort: (reason: Error) => cancel.cancel(reason) };
      },
    },
    {
      by: "signal",
      make: () => {
        const controller = new AbortController();
        return { options: { signal: controller.signal }, abort: (reason: Error) => controller.abort(reason) };
      },
    },
  ])("fails a relay its $by aborts with the reason, and the node's relay stops", async ({ make }) => {
    const id = `${server()}-${Math.random()}`;
    const aborter = make();
    const call = rejection(makeClient(server()).relay.mutate({ kind: "hang", id }, aborter.options));
    await hangingRelay(id).started.promise;
    aborter.abort(new Error("no answer in 5 ms"));
    expect(((await call) as TRPCClientError<never>).message).toBe("no answer in 5 ms");
    await hangingRelay(id).interrupted.promise;
  });

  it("refuses a relay whose cancel token was cancelled before it was sent", async () => {
    const cancel = new CancelToken();
    cancel.cancel(new Error("the client left"));
    const error = await rejection(makeClient(server()).relay.mutate({ kind: "ok" }, { cancel }));
    expect((error as TRPCClientError<never>).message).toBe("the client left");
  });
});

describe("the direct path's refusals", () => {
  const post = (path: string, body: string, headers: Record<string, string> = {}) =>
    fetch(`${directUrl}/${path}`, {
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body,
    });

  it("serves the relay calls itself and leaves other shapes to tRPC", async () => {
    const before = servedDirect.count;
    await post("relay", JSON.stringify({ kind: "ok" }));
    expect(servedDirect.count).toBe(before + 1);
    // A batch of relays is tRPC's to answer, with the same result.
    const batch = await post("relay?batch=1", JSON.stringify({ 0: { kind: "ok" } }));
    expect(servedDirect.count).toBe(before + 1);
    expect(await batch.json()).toEqual([{ result: { data: { ok: true, input: { kind: "ok" } } } }]);
  });

  it("answers a body that is not JSON with INVALID_REQUEST, quoting nothing of it", async () => {
    const bad = await post("relay", "{secret-not-json");
    const text = await bad.text();
    expect(bad.status).toBe(400);
    expect(JSON.parse(text).error.data).toEqual({
      code: "BAD_REQUEST",
      httpStatus: 400,
      pocketCode: "INVALID_REQUEST",
    });
    expect(text).not.toMatch(/secret|stack|\.ts\b|node_modules/);
    const error = await rejection(
      makeNodeRelayClient(directUrl, { agent }).relay.mutate({ kind: "x".repeat(maxBodySize) }),
    );
    expect(pocketCodeOf(error)).toBe("INVALID_REQUEST");
    expect((error as TRPCClientError<never>).data).toMatchObject({
      httpStatus: 413,
      code: "PAYLOAD_TOO_LARGE",
    });
  });

  it("refuses an oversized or broken stream request in the stream's format", async () => {
    for (const client of [
      makeNodeClient(directUrl),
      makeNodeRelayClient(directUrl, { agent }),
      makeNodeRelayClient(directUrl, { agent, lean }),
    ]) {
      const error = await rejection(
        client.relayStream.mutate({ kind: "x".repeat(maxBodySize) }).then((it) => collect(it)),
      );
      expect(pocketCodeOf(error)).toBe("INVALID_REQUEST");
    }
    const broken = await post("relayStream?batch=1", "{nope", { "trpc-accept": "application/jsonl" });
    const text = await broken.text();
    expect(text.split("\n")[1]).toContain('"pocketCode":"INVALID_REQUEST"');
    expect(text).not.toMatch(/nope|stack|\.ts\b/);
  });
});

describe("the direct path's stream writes", () => {
  /** The first segment a plain socket reads of a stream's answer, and the whole answer. */
  const rawStream = (input: unknown) =>
    new Promise<{ first: string; whole: string }>((resolve, reject) => {
      const { port } = new URL(directUrl);
      const body = JSON.stringify({ 0: input });
      const socket = net.connect(Number(port), "127.0.0.1", () =>
        socket.write(
          `POST /trpc/relayStream?batch=1 HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\n` +
            `content-type: application/json\r\ntrpc-accept: application/jsonl\r\n` +
            `content-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
        ),
      );
      const parts: string[] = [];
      socket.setEncoding("utf8");
      socket.on("data", (part: string) => parts.push(part));
      socket.on("end", () => resolve({ first: parts[0] ?? "", whole: parts.join("") }));
      socket.on("error", reject);
    });

  it("sends the head, the prelude and the first chunk in one write, however late the chunk comes", async () => {
    const { first, whole } = await rawStream({ kind: "late" });
    expect(first).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(first).toContain(STREAM_PRELUDE.trim());
    expect(first).toContain('"n":1');
    // Chunks after it, and the end, follow as before.
    expect(whole).toContain('"n":3');
    expect(whole).toContain(STREAM_END_LINE.trim());
  });
});

describe("the direct caller on lean sockets", () => {
  it("keeps one connection for relays and whole streams in turn, and opens another after a stream cut short", async () => {
    const url = await serve((req, res) => {
      if (!direct(req, res)) trpc(req, res);
    });
    const client = makeNodeRelayClient(url, { agent, lean });
    for (let i = 0; i < 3; i++) {
      expect(await client.relay.mutate({ kind: "ok" })).toEqual({ ok: true, input: { kind: "ok" } });
      expect((await collect(await client.relayStream.mutate({ kind: "effect" }))).chunks).toHaveLength(3);
    }
    expect(connections.get(url)).toBe(1);
    // A stream its reader leaves early closes its connection: nothing unread is left on a kept one.
    const iterator = (await client.relayStream.mutate({ kind: "hang", id: `lean-${Math.random()}` }))[
      Symbol.asyncIterator
    ]();
    await iterator.next();
    await iterator.return?.();
    expect(await client.relay.mutate({ kind: "ok" })).toEqual({ ok: true, input: { kind: "ok" } });
    expect(connections.get(url)).toBe(2);
  });
});

describe("the direct caller against a hostile node", () => {
  it("reads a long stream line in one pass over its text, not once per piece of it that arrives", async () => {
    // One chunk line of 8 MB: it arrives in many pieces of a socket's read.
    const text = "z".repeat(8 * 1024 * 1024);
    const line = chunkLine(JSON.stringify({ n: 1, text }));
    const long = http.createServer((_req, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(STREAM_PRELUDE + line + STREAM_END_LINE);
    });
    await new Promise<void>((resolve) => long.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(long.address() as AddressInfo).port}/trpc`;
    // Each search for a line's end in a string of a megabyte or more: the text read so far, scanned
    // again for every piece (a node's line at the bound would take minutes of the gateway's CPU).
    const indexOf = String.prototype.indexOf;
    let rescans = 0;
    const spy = vi.spyOn(String.prototype, "indexOf").mockImplementation(function (
      this: string,
      search: string,
      position?: number,
    ) {
      if (search === "\n" && this.length >= 1024 * 1024) rescans += 1;
      return indexOf.call(this, search, position);
    });
    try {
      for (const client of [
        makeNodeRelayClient(url, { agent, maxAnswerChars: 16 * 1024 * 1024 }),
        makeNodeRelayClient(url, { agent, lean, maxAnswerChars: 16 * 1024 * 1024 }),
      ]) {
        const { chunks, error } = await collect(await client.relayStream.mutate({}));
        expect(error).toBeUndefined();
        expect(chunks).toEqual([{ n: 1, text }]);
      }
    } finally {
      spy.mockRestore();
      long.closeAllConnections();
      await new Promise((resolve) => long.close(resolve));
    }
    expect(rescans).toBe(0);
  });

  it("pauses a stream's connection once its unread chunks hold a bounded amount of text, however few they are", async () => {
    // A node whose chunks are each half a megabyte: a few of them, far fewer than the count of
    // unread chunks that pauses the connection, would hold gigabytes at the line bound.
    const big = "y".repeat(512 * 1024);
    const chunks = 16;
    const hostile = http.createServer((_req, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.write(STREAM_PRELUDE + chunkLine(JSON.stringify({ n: 0 })));
      for (let n = 1; n <= chunks; n++) res.write(chunkLine(JSON.stringify({ n, text: big })));
      res.end(STREAM_END_LINE);
    });
    await new Promise<void>((resolve) => hostile.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(hostile.address() as AddressInfo).port}/trpc`;
    // The lean pool, its pauses counted.
    let pauses = 0;
    const watched: LeanHttpPool = {
      request: (target, request) => lean.request(target, request),
      stream: (target, request, sink) =>
        lean.stream(target, request, {
          data: (part) => sink.data(part),
          head: (status, flow) =>
            sink.head(status, {
              pause: () => {
                pauses += 1;
                flow.pause();
              },
              resume: () => flow.resume(),
              close: (reason) => flow.close(reason),
            }),
        }),
      close: () => undefined,
    };
    try {
      const iterable = await makeNodeRelayClient(url, { agent, lean: watched }).relayStream.mutate({});
      const iterator = iterable[Symbol.asyncIterator]();
      expect((await iterator.next()).value).toEqual({ n: 0 });
      // Nothing more is read: the caller stops taking the node's text once it holds its bound.
      await vi.waitFor(() => expect(pauses).toBeGreaterThan(0), { timeout: 10_000 });
      // And reading on hands over every chunk, whole and in order.
      const seen: number[] = [];
      for (let next = await iterator.next(); next.done !== true; next = await iterator.next()) {
        const { n, text } = next.value as unknown as { n: number; text: string };
        expect(text).toBe(big);
        seen.push(n);
      }
      expect(seen).toEqual(Array.from({ length: chunks }, (_, i) => i + 1));
    } finally {
      hostile.closeAllConnections();
      await new Promise((resolve) => hostile.close(resolve));
    }
  });

  it("stops reading an answer, or a stream line, longer than its bound", async () => {
    // A node that answers without end: a unary body, and a stream's first line, that never close.
    let sent = 0;
    const hostile = http.createServer((_req, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      const more = () => {
        while (!res.destroyed && res.write("x".repeat(1024))) sent += 1024;
        if (!res.destroyed) res.once("drain", more);
      };
      res.on("close", () => undefined);
      more();
    });
    await new Promise<void>((resolve) => hostile.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(hostile.address() as AddressInfo).port}/trpc`;
    try {
      for (const client of [
        makeNodeRelayClient(url, { agent, maxAnswerChars: 64 * 1024 }),
        makeNodeRelayClient(url, { agent, lean, maxAnswerChars: 64 * 1024 }),
      ]) {
        const unary = await client.relay.mutate({}).then(
          () => "answered",
          (error: Error) => error.message,
        );
        // node:http counts characters, the lean client bytes.
        expect(unary).toMatch(/longer than 65536 characters|over 65536 bytes/);
        const stream = await client.relayStream.mutate({}).then(
          async (chunks) => {
            for await (const _ of chunks) {
              /* reading until it fails */
            }
            return "ended";
          },
          (error: Error) => error.message,
        );
        expect(stream).toContain("longer than 65536 characters");
      }
      // The caller hung up soon after its bound: the node could not make it read without end.
      expect(sent).toBeLessThan(64 * 1024 * 1024);
    } finally {
      hostile.closeAllConnections();
      await new Promise((resolve) => hostile.close(resolve));
    }
  });
});

describe("the direct path with a node's callback relay (`relayNow`)", () => {
  /** What the node saw of each call: cancelled, and whether the Effect it handed over then ran whole. */
  const calls = new Map<string, { cancelled: boolean; cleaned: Promise<void> }>();
  const nowImpl: NodeRelayApi = {
    ...impl,
    relayNow: (input, done) => {
      const { kind, id = "" } = (input ?? {}) as { kind?: string; id?: string };
      if (kind === "ok") {
        done(Effect.succeed({ ok: true, input } as unknown as RelayResponse));
        return () => undefined;
      }
      if (kind === "later") {
        const timer = setTimeout(() => done(Effect.succeed({ later: true } as unknown as RelayResponse)), 5);
        return () => clearTimeout(timer);
      }
      if (kind === "effect") {
        done(Effect.as(Effect.sleep(5), { ran: true } as unknown as RelayResponse));
        return () => undefined;
      }
      if (kind === "hang") {
        let clean!: () => void;
        const call = { cancelled: false, cleaned: new Promise<void>((resolve) => (clean = resolve)) };
        calls.set(id, call);
        return () => {
          call.cancelled = true;
          // What still runs once the caller left: not interrupted by the link.
          done(
            Effect.zipRight(
              Effect.uninterruptible(Effect.zipRight(Effect.sleep(5), Effect.sync(clean))),
              Effect.interrupt,
            ),
          );
        };
      }
      done(Effect.fail(refuse("INVALID_SIGNATURE", "the envelope's signature does not match")));
      return () => undefined;
    },
  };
  const nowDirect = makeNodeRelayHandler({ impl: nowImpl, router, runtime, basePath, maxBodySize });
  let nowUrl = "";
  beforeAll(async () => {
    nowUrl = await serve((req, res) => {
      if (!nowDirect(req, res)) trpc(req, res);
    });
  });

  it("answers an outcome handed over as it is, later, or as an Effect to run, and a coded refusal", async () => {
    const client = makeNodeRelayClient(nowUrl, { agent, lean });
    expect(await client.relay.mutate({ kind: "ok" })).toEqual({ ok: true, input: { kind: "ok" } });
    expect(await client.relay.mutate({ kind: "later" })).toEqual({ later: true });
    expect(await client.relay.mutate({ kind: "effect" })).toEqual({ ran: true });
    const error = await rejection(client.relay.mutate({ kind: "bad" }));
    expect(pocketCodeOf(error)).toBe("INVALID_SIGNATURE");
    expect((error as TRPCClientError<never>).data).toMatchObject({ httpStatus: 401 });
  });

  it("cancels a call whose caller went away, and runs what the cancel hands over", async () => {
    const id = `now-${Math.random()}`;
    const controller = new AbortController();
    const answer = rejection(
      makeNodeRelayClient(nowUrl, { agent }).relay.mutate(
        { kind: "hang", id },
        { signal: controller.signal },
      ),
    );
    await vi.waitFor(() => expect(calls.get(id)).toBeDefined());
    controller.abort();
    await answer;
    await vi.waitFor(() => expect(calls.get(id)?.cancelled).toBe(true));
    await calls.get(id)?.cleaned;
  });
});
