import { connect, type Socket } from "node:net";

/**
 * A connection to `port` on loopback that POSTs to `path` declaring `declared` bytes of JSON body,
 * sends `sent` of them and stalls: what a stranger holds open to make a server keep a body it
 * cannot verify yet. `answer` is every byte the server sent, once it closes the connection.
 * `from` is the loopback address it connects from (`127.0.0.2`: another caller than the
 * default's); `chunked` sends the body without a length, as one chunk of `sent` bytes.
 */
export function stalledUpload(
  port: number,
  path: string,
  declared: number,
  sent: number,
  options: { readonly from?: string; readonly chunked?: boolean } = {},
): { socket: Socket; answer: Promise<string> } {
  const socket = connect({
    port,
    host: "127.0.0.1",
    ...(options.from === undefined ? {} : { localAddress: options.from }),
  });
  let text = "";
  const answer = new Promise<string>((resolve) => {
    socket.on("data", (d) => {
      text += d.toString("latin1");
    });
    socket.on("close", () => resolve(text));
    socket.on("error", () => undefined);
  });
  const length = options.chunked === true ? "transfer-encoding: chunked" : `content-length: ${declared}`;
  socket.write(`POST ${path} HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n${length}\r\n\r\n`);
  if (options.chunked === true) socket.write(`${sent.toString(16)}\r\n`);
  socket.write(Buffer.alloc(sent, 0x20));
  return { socket, answer };
}
