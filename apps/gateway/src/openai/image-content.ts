import type { IncomingMessage, ServerResponse } from "node:http";
import { Effect } from "effect";
import { RequestRefused } from "./errors.js";
import { fetchPeerImage, IMAGE_HOP_HEADER } from "./image-peer-fetch.js";
import { IMAGE_CONTENT_PATH, imageIdOf } from "./image-urls.js";
import type { FrontDoorDeps } from "./relay-call.js";
import { REQUEST_ID_HEADER } from "./request-id.js";

const NOT_RUNNING = "the gateway replica named in this URL is not running (it stopped or restarted)";
const expired = (detail?: string) => new RequestRefused({ code: "IMAGE_URL_EXPIRED", detail });

/**
 * `GET /v1/images/content/<id>.png`: the image from this replica's memory, or — when another
 * replica holds it (the id names it) — from that replica, fetched once and passed on, never
 * kept here. Only a peer registered in the shared database is asked, only for this path, and a
 * request that is itself a peer's (the hop header) is never passed further, so there is no loop
 * and no open proxy. No peer holding it: `404 IMAGE_URL_EXPIRED`; a peer that does not answer:
 * `503 IMAGE_URL_UNAVAILABLE`.
 */
export const serveImageContent = Effect.fnUntraced(function* (
  deps: FrontDoorDeps,
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  cors: Record<string, string>,
) {
  const image = imageIdOf(path.slice(IMAGE_CONTENT_PATH.length));
  if (image === undefined) return yield* expired();
  const kept = deps.imageUrls.get(image.id);
  if (kept !== undefined) return sendPng(res, kept.bytes, kept.secondsLeft, cors);
  if (image.holder === deps.replicas.id || req.headers[IMAGE_HOP_HEADER] !== undefined)
    return yield* expired();
  const peerUrl = yield* deps.replicas.peerUrl(image.holder);
  if (peerUrl === undefined) return yield* expired(NOT_RUNNING);
  const answer = yield* fetchPeerImage(peerUrl, image.id, {
    timeoutMs: deps.peerTimeoutMs,
    maxBytes: deps.imageUrls.maxBytes,
    maxSecondsLeft: deps.imageUrls.ttlSeconds,
    requestId: String(res.getHeader(REQUEST_ID_HEADER) ?? ""),
  });
  deps.metrics.imagePeerFetches.inc({ outcome: answer.kind });
  if (answer.kind === "gone") return yield* expired();
  if (answer.kind === "unavailable") {
    // A peer that stopped since this replica last read the directory: its images are gone.
    if (!(yield* deps.replicas.stillLive(image.holder))) return yield* expired(NOT_RUNNING);
    deps.log.warn("image peer did not answer", { peer: image.holder, reason: answer.reason });
    return yield* new RequestRefused({ code: "IMAGE_URL_UNAVAILABLE" });
  }
  return sendPng(res, answer.bytes, answer.secondsLeft, cors);
});

function sendPng(res: ServerResponse, bytes: Buffer, secondsLeft: number, cors: Record<string, string>) {
  res.writeHead(200, {
    ...cors,
    "content-type": "image/png",
    "content-length": String(bytes.length),
    "cache-control": `private, max-age=${secondsLeft}`,
  });
  res.end(bytes);
}
