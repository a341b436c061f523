import { createServer, type Server, type ServerResponse } from "node:http";
import { connect, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { drained } from "./http-response.js";

/**
 * A streamed answer whose client stops reading: the gateway's wait for the socket to drain is
 * bounded, so a client cannot hold a relay (its node's stream, its budget hold) open for as long
 * as it likes by opening a stream and never reading it.
 */
let server: Server | undefined;
let client: Socket | undefined;
afterEach(async () => {
  client?.destroy();
  await new Promise<void>((resolve) => (server === undefined ? resolve() : server.close(() => resolve())));
});

/**
 * Serves one streamed answer, writing until the socket's buffer is full and waiting for it to
 * drain, `rounds` times or until the wait ends with the client disconnected.
 */
function fillThenWait(unreadLimitMs: number, rounds: number) {
  return new Promise<{ port: number; waited: Promise<ServerResponse> }>((ready) => {
    let settle: (res: ServerResponse) => void = () => undefined;
    const waited = new Promise<ServerResponse>((resolve) => {
      settle = resolve;
    });
    server = createServer((_req, res) => {
      res.writeHead(200, { "content-type": "text/event-stream" });
      const piece = `data: ${"x".repeat(64 * 1024)}\n\n`;
      let left = rounds;
      const fill = () => {
        while (res.write(piece)) {
          // the socket takes more: keep writing until its buffer is full
        }
        void drained(res, unreadLimitMs).then(() => {
          left -= 1;
          // Drained into the kernel's buffers (the client's and ours): fill them again.
          if (res.destroyed || left === 0) settle(res);
          else fill();
        });
      };
      fill();
    });
    server.listen(0, "127.0.0.1", () => {
      ready({ port: (server!.address() as { port: number }).port, waited });
    });
  });
}

describe("waiting for a streamed answer's client to read", () => {
  it("disconnects a client that leaves the answer unread past the limit", async () => {
    const { port, waited } = await fillThenWait(50, Number.POSITIVE_INFINITY);
    client = connect(port, "127.0.0.1");
    client.write("GET / HTTP/1.1\r\nhost: x\r\n\r\n");
    // Never read: the client's own buffers fill, then the server's.
    client.pause();
    const res = await waited;
    expect(res.destroyed).toBe(true);
    expect(res.writableFinished).toBe(false);
  });

  it("goes on for a client that reads", async () => {
    const { port, waited } = await fillThenWait(60_000, 20);
    client = connect(port, "127.0.0.1");
    client.write("GET / HTTP/1.1\r\nhost: x\r\n\r\n");
    client.on("data", () => undefined);
    const res = await waited;
    expect(res.destroyed).toBe(false);
  });
});
