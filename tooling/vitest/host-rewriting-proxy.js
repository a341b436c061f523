import { createServer, request as httpRequest } from "node:http";

/**
 * A reverse proxy on loopback that does what nginx's `proxy_set_header Host $host` does (the
 * shipped `deploy/gateway-lb.conf` did): it passes the request on with the port dropped from `Host`.
 *
 * @param {string} upstream
 * @returns {Promise<{ url: string; close: () => Promise<void> }>}
 */
export async function hostRewritingProxy(upstream) {
  const to = new URL(upstream);
  const server = createServer((req, res) => {
    const host = (req.headers.host ?? "").replace(/:\d+$/, "");
    const onward = httpRequest(
      {
        host: to.hostname,
        port: to.port,
        method: req.method,
        path: req.url,
        headers: { ...req.headers, host },
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    req.pipe(onward);
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(undefined)));
  const address = server.address();
  const port = typeof address === "object" && address !== null ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve(undefined));
        server.closeAllConnections();
      }),
  };
}
