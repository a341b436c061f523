import type { IncomingMessage, ServerResponse } from "node:http";

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/**
 * Puts the portal in front of the gateway's handler: `/portal` and `/portal/*` go to the portal,
 * a browser's `GET /` is sent there, everything else (`/v1`, `/trpc`, `/health`, `/metrics`)
 * passes through untouched.
 */
export function mountPortal(portal: Handler, next: Handler): Handler {
  return (req, res) => {
    const path = (req.url ?? "/").split("?")[0] ?? "/";
    if (path === "/portal" || path.startsWith("/portal/")) return portal(req, res);
    if (path === "/" && (req.method === "GET" || req.method === "HEAD")) {
      res.writeHead(302, { location: "/portal/" });
      res.end();
      return;
    }
    next(req, res);
  };
}
