import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/** One request as the fake saw it. */
export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly body: unknown;
  /** Request headers, lower-cased names (an engine's API key arrives in `authorization`). */
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
}

/** What every fake engine shares: its URL, its traffic, and the requests whose client hung up. */
export interface FakeServerBase {
  readonly url: string;
  /** Requests per path (`"POST /v1/completions"` → 3). */
  readonly calls: Record<string, number>;
  readonly requests: RecordedRequest[];
  /** Forgets the traffic so far (`calls` and `requests`), e.g. a node's start-up probe. */
  readonly resetCounts: () => void;
  /** Responses the client abandoned (socket closed before the fake finished answering). */
  readonly aborted: () => number;
  /** Resolves once `aborted()` reaches `count` (default: one more than now). */
  readonly waitForAbort: (count?: number) => Promise<void>;
  /**
   * Called as each request's head arrives, before its body is read: what the client had done by
   * the time it sent the request (a test counting event-loop turns reads its count here).
   */
  readonly onRequestHead: (listener: (method: string, path: string) => void) => void;
  readonly close: () => Promise<void>;
}

export type FakeHandler = (request: RecordedRequest, response: ServerResponse) => Promise<void> | void;

async function readBody(request: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString("utf8");
  if (text === "") return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

export function sendJson(response: ServerResponse, status: number, value: unknown): void {
  const text = JSON.stringify(value);
  response.writeHead(status, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(text),
  });
  response.end(text);
}

/** Marks a response the fake itself cut (a simulated crash), so it is not counted as a client abort. */
export function cutConnection(response: ServerResponse): void {
  (response as ServerResponse & { cutByFake?: boolean }).cutByFake = true;
  response.socket?.destroy();
}

/** A real HTTP server on 127.0.0.1 and a free port, recording everything it is sent. */
export async function startFakeServer(handler: FakeHandler): Promise<FakeServerBase> {
  const calls: Record<string, number> = {};
  const requests: RecordedRequest[] = [];
  let aborted = 0;
  let waiters: { count: number; resolve: () => void }[] = [];
  let headListener: ((method: string, path: string) => void) | undefined;

  const server = createServer((request, response) => {
    headListener?.(request.method ?? "GET", (request.url ?? "/").split("?")[0] ?? "/");
    response.on("close", () => {
      const cut = (response as ServerResponse & { cutByFake?: boolean }).cutByFake === true;
      if (response.writableFinished || cut) return;
      aborted += 1;
      const ready = waiters.filter((waiter) => aborted >= waiter.count);
      waiters = waiters.filter((waiter) => aborted < waiter.count);
      for (const waiter of ready) waiter.resolve();
    });
    void (async () => {
      const path = (request.url ?? "/").split("?")[0] ?? "/";
      const recorded: RecordedRequest = {
        method: request.method ?? "GET",
        path,
        body: await readBody(request),
        headers: { ...request.headers },
      };
      const key = `${recorded.method} ${path}`;
      calls[key] = (calls[key] ?? 0) + 1;
      requests.push(recorded);
      await handler(recorded, response);
    })().catch((error: unknown) => {
      if (!response.headersSent) sendJson(response, 500, { error: String(error) });
      else response.destroy();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    calls,
    requests,
    resetCounts: () => {
      for (const key of Object.keys(calls)) delete calls[key];
      requests.length = 0;
    },
    aborted: () => aborted,
    waitForAbort: (count = aborted + 1) =>
      aborted >= count ? Promise.resolve() : new Promise((resolve) => waiters.push({ count, resolve })),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
    onRequestHead: (listener) => {
      headListener = listener;
    },
  };
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** A gate a test opens when it is ready: `promise` resolves on `open()`, never before. */
export interface Latch {
  readonly promise: Promise<void>;
  readonly open: () => void;
}

export function latch(): Latch {
  let open: () => void = () => {};
  const promise = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { promise, open };
}

/**
 * Polls `condition` (every 5 ms) until it holds; rejects with `what` if it never does within the
 * generous deadline. The deadline only bounds a broken run: state, not the clock, decides a test.
 */
export async function until(
  condition: () => boolean,
  what = "a condition",
  deadlineMs = 20_000,
): Promise<void> {
  const end = Date.now() + deadlineMs;
  while (!condition()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}
