import { Duration, Effect } from "effect";
import { IMAGE_CONTENT_PATH } from "./image-urls.js";

/**
 * Marks a request one replica sends another for bytes it holds (an image, a streamed response
 * item): the receiver answers from its own memory only, never asks a further peer. A client may send it too; it then only loses the
 * forwarding for its own request.
 */
export const IMAGE_HOP_HEADER = "x-pocket-image-hop";

/** What a peer replica answered for an image id. */
export type PeerImage =
  | { readonly kind: "image"; readonly bytes: Buffer; readonly secondsLeft: number }
  /** The peer does not hold it (expired, pushed out by its byte bound, or never made). */
  | { readonly kind: "gone" }
  /** No usable answer: refused connection, timeout, too many bytes, an unexpected status or type. */
  | { readonly kind: "unavailable"; readonly reason: string };

export interface PeerFetchOptions {
  readonly timeoutMs: number;
  /** The most bytes accepted; a longer answer is cut off and refused, never kept. */
  readonly maxBytes: number;
  /** The longest `max-age` passed on (the image's own time to live). */
  readonly maxSecondsLeft: number;
  /** Passed to the peer for log correlation (already validated by the front door). */
  readonly requestId: string;
}

/**
 * GETs `<peerUrl>/v1/images/content/<imageId>.png` from a registered peer replica: the path is
 * built here from an id that matched the image id pattern (hex and one `-`), so nothing a client
 * sent other than that id reaches the peer. See {@link fetchPeerBytes}.
 */
export function fetchPeerImage(
  peerUrl: string,
  imageId: string,
  options: PeerFetchOptions,
): Effect.Effect<PeerImage> {
  return fetchPeerBytes(`${IMAGE_CONTENT_PATH}${imageId}.png`, "image/png", peerUrl, options).pipe(
    Effect.map((answer): PeerImage => (answer.kind === "found" ? { ...answer, kind: "image" } : answer)),
  );
}

/** What a peer replica answered for something it holds in memory. */
export type PeerBytes =
  | { readonly kind: "found"; readonly bytes: Buffer; readonly secondsLeft: number }
  | { readonly kind: "gone" }
  | { readonly kind: "unavailable"; readonly reason: string };

/**
 * GETs `path` (built by the caller from validated parts only) from a registered peer replica, for
 * bytes it keeps in memory (images, streamed response items): the hop header marks the request as
 * a peer's, so the peer answers from its own memory only; no client header is passed on;
 * redirects are not followed; the whole exchange is bounded by `timeoutMs` (the request is
 * aborted then) and the body by `maxBytes`; an answer of another content type is refused. 404 is
 * `gone`. Never fails: every outcome is a {@link PeerBytes}.
 */
export function fetchPeerBytes(
  path: string,
  contentType: string,
  peerUrl: string,
  options: PeerFetchOptions,
): Effect.Effect<PeerBytes> {
  const url = `${peerUrl.replace(/\/+$/, "")}${path}`;
  return Effect.tryPromise({
    try: (signal) => readPeerBytes(url, contentType, signal, options),
    catch: (e) => (e instanceof Error ? e.message : String(e)),
  }).pipe(
    Effect.timeoutFail({
      duration: Duration.millis(options.timeoutMs),
      onTimeout: () => `no answer within ${options.timeoutMs} ms`,
    }),
    Effect.catchAll((reason) => Effect.succeed<PeerBytes>({ kind: "unavailable", reason })),
  );
}

async function readPeerBytes(
  url: string,
  contentType: string,
  signal: AbortSignal,
  options: PeerFetchOptions,
): Promise<PeerBytes> {
  const response = await fetch(url, {
    signal,
    redirect: "manual",
    headers: { [IMAGE_HOP_HEADER]: "1", "x-request-id": options.requestId, accept: contentType },
  });
  const drop = () => response.body?.cancel().catch(() => undefined);
  if (response.status === 404) {
    await drop();
    return { kind: "gone" };
  }
  if (response.status !== 200) {
    await drop();
    return { kind: "unavailable", reason: `status ${response.status}` };
  }
  if (response.headers.get("content-type") !== contentType) {
    await drop();
    return { kind: "unavailable", reason: `not ${contentType}` };
  }
  const declared = Number(response.headers.get("content-length") ?? Number.NaN);
  if (declared > options.maxBytes) {
    await drop();
    return { kind: "unavailable", reason: `declares ${declared} bytes, over ${options.maxBytes}` };
  }
  const chunks: Uint8Array[] = [];
  let length = 0;
  const reader = response.body?.getReader();
  for (;;) {
    if (reader === undefined) break;
    const { done, value } = await reader.read();
    if (done) break;
    length += value.length;
    if (length > options.maxBytes) {
      await reader.cancel().catch(() => undefined);
      return { kind: "unavailable", reason: `sends over ${options.maxBytes} bytes` };
    }
    chunks.push(value);
  }
  const maxAge = /(?:^|[,\s])max-age=(\d{1,9})(?:$|[,\s])/.exec(
    response.headers.get("cache-control") ?? "",
  )?.[1];
  const secondsLeft = Math.min(options.maxSecondsLeft, Number(maxAge ?? 0));
  return { kind: "found", bytes: Buffer.concat(chunks, length), secondsLeft };
}
