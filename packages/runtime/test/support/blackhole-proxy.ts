import { createConnection, createServer, type Socket } from "node:net";

/**
 * A TCP proxy on a loopback port in front of a server, that can stop forwarding bytes in both
 * directions while every socket stays open, as a network partition or a frozen host does: no
 * RST, no FIN, nothing at all reaches either side. The bytes (and any close) held meanwhile are
 * delivered, in order, once it forwards again.
 */
export interface BlackholeProxy {
  /** The proxy's port on 127.0.0.1. */
  readonly port: number;
  /** Stops forwarding, both ways, on every connection (and on the ones accepted from now on). */
  blackhole(): void;
  /** Forwards again: first what was held, then whatever comes. */
  forward(): void;
  /** Connections the client side has open to the proxy now (not ended by the client). */
  readonly openClients: number;
  /** Resolves once the client side has exactly `count` connections open to the proxy. */
  clientsOpen(count: number): Promise<void>;
  /** Resolves once a client has sent bytes the proxy holds since it last began to hold (a statement or a handshake in flight). */
  clientBytesHeld(): Promise<void>;
  close(): Promise<void>;
}

export async function startBlackholeProxy(target: { host: string; port: number }): Promise<BlackholeProxy> {
  let holding = false;
  const pipes = new Set<{ resume(): void; destroy(): void }>();
  const clients = new Set<Socket>();
  let watchers: (() => void)[] = [];
  const changed = () => {
    const now = watchers;
    watchers = [];
    for (const w of now) w();
  };
  const until = (done: () => boolean): Promise<void> =>
    new Promise((resolve) => {
      const check = () => (done() ? resolve() : watchers.push(check));
      check();
    });
  let heldFromClients = 0;

  /** Copies `from` to `to`, holding chunks and the end while the proxy is blackholed. */
  const pipe = (from: Socket, to: Socket, fromClient: boolean) => {
    const held: (Buffer | "end")[] = [];
    const deliver = (item: Buffer | "end") => (item === "end" ? to.end() : to.write(item));
    const take = (item: Buffer | "end") => {
      if (!holding && held.length === 0) return deliver(item);
      held.push(item);
      if (fromClient && item !== "end") {
        heldFromClients++;
        changed();
      }
    };
    from.on("data", (chunk: Buffer) => take(chunk));
    from.on("end", () => take("end"));
    return {
      resume: () => {
        for (const item of held.splice(0)) deliver(item);
      },
      destroy: () => {
        from.destroy();
        to.destroy();
      },
    };
  };

  const server = createServer({ allowHalfOpen: true }, (client) => {
    clients.add(client);
    changed();
    const upstream = createConnection({ host: target.host, port: target.port, allowHalfOpen: true });
    const up = pipe(client, upstream, true);
    const down = pipe(upstream, client, false);
    pipes.add(up);
    pipes.add(down);
    // An error on one side (a reset) is passed on as the end of the other: the proxy never
    // invents a close of its own while it holds.
    client.on("error", () => undefined);
    upstream.on("error", () => undefined);
    // A client that ended its side (pg closing a connection) has it no longer open, even while
    // the proxy holds that end from the server.
    const gone = () => {
      if (clients.delete(client)) changed();
    };
    client.on("end", gone);
    client.on("close", gone);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  return {
    port,
    blackhole() {
      holding = true;
      heldFromClients = 0;
    },
    forward() {
      holding = false;
      for (const p of pipes) p.resume();
    },
    get openClients() {
      return clients.size;
    },
    clientsOpen: (count) => until(() => clients.size === count),
    clientBytesHeld: () => until(() => heldFromClients > 0),
    async close() {
      for (const p of pipes) p.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
