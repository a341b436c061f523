import { request } from "node:http";
import { networkInterfaces } from "node:os";

/**
 * An IPv4 address of this machine that is not loopback (its first network interface's), or
 * `undefined` on a machine with none. A test connecting from it to a server on 127.0.0.1 is a
 * client from another machine as the server sees it.
 */
export function nonLoopbackAddress() {
  for (const entries of Object.values(networkInterfaces()))
    for (const entry of entries ?? []) if (entry.family === "IPv4" && !entry.internal) return entry.address;
  return undefined;
}

/** `GET url` from the local address `from`; its status, headers and body as text. */
export function getFrom(url, from, headers = {}) {
  return new Promise((resolve, reject) => {
    const req = request(url, { localAddress: from, headers }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (part) => {
        body += part;
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end();
  });
}
