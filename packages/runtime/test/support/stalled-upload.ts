import { connect, type Socket } from "node:net";

/**
 * A connection to `port` on loopback that POSTs to `path` declaring `declared` bytes of JSON body,
 * sends `sent` of them and stalls: what a stranger holds open to make a server keep a body it
 * cannot verify yet. `answer` is every byte the server sent, once it closes the connection.
 */
export function stalledUpload(
  port: number,
  path: string,
  declared: number,
  sent: number,
): { socket: Socket; answer: Promise<string> } {
  const socket = connect(port, "127.0.0.1");
  let text = "";
  const answer = new Promise<string>((resolve) => {
    socket.on("data", (d) => {
      text += d.toString("latin1");
    });
    socket.on("close", () => resolve(text));
    socket.on("error", () => undefined);
  });
  socket.write(
    `POST ${path} HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: ${declared}\r\n\r\n`,
  );
  socket.write(Buffer.alloc(sent, 0x20));
  return { socket, answer };
}
