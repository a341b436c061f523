import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { Data, Effect, type Scope } from "effect";
import { tuneHeapForServing } from "../main/serving-heap.js";
import type { StartCode } from "../main/start-codes.js";

/** The server could not listen: `PORT_IN_USE` for a taken port, `LISTEN_FAILED` for any other refusal. */
export class ListenError extends Data.TaggedError("ListenError")<{
  readonly code: Extract<StartCode, "PORT_IN_USE" | "LISTEN_FAILED">;
  readonly host: string;
  readonly port: number;
  readonly reason: string;
}> {
  override get message(): string {
    return `${this.code}: ${this.reason}`;
  }
}

export interface RunningServer {
  readonly server: Server;
  readonly url: string;
  readonly port: number;
}

/**
 * Starts an HTTP server for the scope's lifetime. On release it stops accepting, lets in-flight
 * requests finish for up to `drainMs`, then closes what is left. A taken port fails with a
 * message that names the port and the setting to change. The process's heap is tuned for serving
 * first ({@link tuneHeapForServing}).
 */
export function serveHttp(options: {
  readonly handler: (req: IncomingMessage, res: ServerResponse) => void;
  readonly host: string;
  readonly port: number;
  readonly drainMs?: number;
  readonly portSetting?: string;
  /**
   * Called once `drainMs` has passed with requests still open, before their connections are
   * closed: the place to end long answers (streams) with a last word to their clients, resolving
   * once those words are handed to their sockets. What is still open when it settles, or
   * {@link CUT_GRACE_MS} later, is closed then.
   */
  readonly beforeCut?: () => Promise<void>;
  /** Called once, when the server stops accepting and its drain begins. */
  readonly onDrain?: () => void;
  /**
   * The longest a request may take to arrive whole, head and body ({@link REQUEST_TIMEOUT_MS} by
   * default); a request still arriving then is answered 408 and its connection closed. The
   * answer's own time is not bounded by it.
   */
  readonly requestTimeoutMs?: number;
}): Effect.Effect<RunningServer, ListenError, Scope.Scope> {
  const requestTimeout = options.requestTimeoutMs ?? REQUEST_TIMEOUT_MS;
  const listen = Effect.async<RunningServer, ListenError>((resume) => {
    tuneHeapForServing();
    const server = createServer(
      {
        keepAliveTimeout: 65_000,
        requestTimeout,
        // Node looks for late requests this often (30 s by default, half a short deadline again).
        connectionsCheckingInterval: Math.max(50, Math.min(5_000, Math.floor(requestTimeout / 4))),
      },
      options.handler,
    );
    // A request's head is part of it: never given longer than the whole request.
    server.headersTimeout = Math.min(66_000, requestTimeout);
    const onError = (e: NodeJS.ErrnoException) => resume(Effect.fail(listenError(options, e)));
    server.once("error", onError);
    server.listen(options.port, options.host, () => {
      server.off("error", onError);
      const port = (server.address() as AddressInfo).port;
      const host = options.host.includes(":") ? `[${options.host}]` : options.host;
      resume(Effect.succeed({ server, port, url: `http://${host}:${port}` }));
    });
  });
  return Effect.acquireRelease(listen, ({ server }) =>
    Effect.suspend(() => {
      // The drain goes on whatever the hook does: a server must close.
      try {
        options.onDrain?.();
      } catch {
        // The hook's own failure: nothing to do here but close.
      }
      return closeServer(server, options.drainMs ?? 10_000, options.beforeCut);
    }),
  );
}

/** Why a server could not listen where `at` says, naming the setting that moves it when it is a taken port. */
function listenError(
  at: { readonly host: string; readonly port: number; readonly portSetting?: string | undefined },
  e: NodeJS.ErrnoException,
): ListenError {
  const hint = at.portSetting === undefined ? "" : ` Set ${at.portSetting} to a free port.`;
  const reason =
    e.code === "EADDRINUSE"
      ? `Port ${at.port} on ${at.host} is already in use.${hint}`
      : `Cannot listen on ${at.host}:${at.port}: ${e.message}`;
  return new ListenError({
    code: e.code === "EADDRINUSE" ? "PORT_IN_USE" : "LISTEN_FAILED",
    host: at.host,
    port: at.port,
    reason,
  });
}

/**
 * Fails as {@link serveHttp} would if its port were taken or could not be listened on: an app
 * calls it first, before it creates a key file or loads a model for a server that cannot start.
 * It listens for a moment and closes at once; port 0 (any free port) is always free.
 */
export function checkPortFree(at: {
  readonly host: string;
  readonly port: number;
  readonly portSetting?: string;
}): Effect.Effect<void, ListenError> {
  if (at.port === 0) return Effect.void;
  return Effect.async<void, ListenError>((resume) => {
    const probe = createServer();
    probe.once("error", (e: NodeJS.ErrnoException) => resume(Effect.fail(listenError(at, e))));
    probe.listen({ port: at.port, host: at.host, exclusive: true }, () =>
      probe.close(() => resume(Effect.void)),
    );
  });
}

/**
 * How long a request may take to arrive whole unless the server says otherwise: a body at the
 * largest size an app takes (32 MiB on a node) arrives well within it at 10 Mbit/s. Node's own
 * default (300 s) let a stalled body hold its memory for five minutes.
 */
export const REQUEST_TIMEOUT_MS = 60_000;

/** The longest `beforeCut` may take, once the drain has run out, to end the answers still open. */
export const CUT_GRACE_MS = 2_000;

/**
 * Stops accepting, then reaps connections as they become idle (keep-alive sockets that finish
 * their last response after `close()` are not reaped by Node on its own), and after `drainMs`
 * lets `beforeCut` end what it can and closes whatever is still open. Plain timers, because a
 * finalizer runs uninterruptibly and an Effect timeout could not cut it short.
 */
function closeServer(
  server: Server,
  drainMs: number,
  beforeCut: (() => Promise<void>) | undefined,
): Effect.Effect<void> {
  return Effect.async<void>((resume) => {
    const reaper = setInterval(() => server.closeIdleConnections(), 50);
    let grace: NodeJS.Timeout | undefined;
    const cut = () => {
      clearTimeout(grace);
      server.closeAllConnections();
    };
    const deadline = setTimeout(() => {
      if (beforeCut === undefined) return cut();
      grace = setTimeout(cut, CUT_GRACE_MS);
      Promise.resolve().then(beforeCut).then(cut, cut);
    }, drainMs);
    server.close(() => {
      clearInterval(reaper);
      clearTimeout(deadline);
      clearTimeout(grace);
      resume(Effect.void);
    });
    server.closeIdleConnections();
  });
}
