import type { IncomingMessage, ServerResponse } from "node:http";
import { fail, ok, type Result } from "@pocket-ai/protocol";
import { Effect } from "effect";
import { RequestRefused } from "../errors.js";
import { fetchPeerBytes, IMAGE_HOP_HEADER } from "../image-peer-fetch.js";
import type { FrontDoorDeps } from "../relay-call.js";
import { STREAMED_ITEM_HASH, STREAMED_ITEM_PATH, STREAMED_ITEM_TYPE } from "./streamed-items.js";

const SEND_IT =
  "send the item itself (an assistant message with its text) instead of the item_reference; with the Vercel AI SDK set providerOptions.openai.store to false";

const minutes = (seconds: number) => {
  const n = Math.max(1, Math.round(seconds / 60));
  return `${n} minute${n === 1 ? "" : "s"}`;
};

const expired = (deps: FrontDoorDeps, param: string) =>
  fail<string>(
    "RESPONSE_NOT_STORED",
    `this streamed answer's item expired: the gateway keeps a streamed item's text (encrypted, in memory) for ${minutes(deps.streamedItems.ttlSeconds)} at most, less when this application (or all together) keep many answers at once; ${SEND_IT}`,
    param,
  );

const holderGone = (param: string) =>
  fail<string>(
    "RESPONSE_NOT_STORED",
    `the gateway replica that streamed this item is no longer running (it stopped or restarted) and its items went with it; ${SEND_IT}`,
    param,
  );

const notIssued = (param: string) =>
  fail<string>(
    "INVALID_ITEM_REFERENCE",
    "this id was not issued by this gateway to this application, or was changed",
    param,
  );

/**
 * The text of a streamed message item an `item_reference` names (`msg_pk2…`, see
 * `streamed-items.ts`). The id is parsed strictly and its check verified before anything is looked
 * up: a changed or forged id, or another application's, is `INVALID_ITEM_REFERENCE` and causes no
 * request to anyone. Kept here: opened from this replica's memory. Kept by a peer on the same
 * database: its ciphertext is fetched from that peer by hash (one hop, bounded in time and bytes;
 * the key never travels) and opened here. Gone (expired, pushed out, or its replica stopped):
 * `RESPONSE_NOT_STORED` saying what to send instead; a live peer that does not answer:
 * `RESPONSE_ITEM_UNAVAILABLE` (retry).
 */
export const readStreamedItem = Effect.fnUntraced(function* (
  deps: FrontDoorDeps,
  id: string,
  applicationId: string,
  param: string,
  requestId: string,
) {
  const store = deps.streamedItems;
  const ref = store.parse(id, applicationId);
  if (ref === undefined) return notIssued(param);
  const open = (sealed: Buffer): Result<string> => {
    const text = store.open(ref, sealed, applicationId);
    return text === undefined ? notIssued(param) : ok(text);
  };
  if (ref.holder === store.replicaId) {
    const kept = store.ciphertext(ref.hash);
    return kept === undefined ? expired(deps, param) : open(kept.bytes);
  }
  const peerUrl = yield* deps.replicas.peerUrl(ref.holder);
  if (peerUrl === undefined) return holderGone(param);
  const answer = yield* fetchPeerBytes(`${STREAMED_ITEM_PATH}${ref.hash}`, STREAMED_ITEM_TYPE, peerUrl, {
    timeoutMs: deps.peerTimeoutMs,
    maxBytes: store.maxBytes,
    maxSecondsLeft: store.ttlSeconds,
    requestId,
  });
  deps.metrics.responseItemPeerFetches.inc({ outcome: answer.kind });
  if (answer.kind === "gone") return expired(deps, param);
  if (answer.kind === "unavailable") {
    if (!(yield* deps.replicas.stillLive(ref.holder))) return holderGone(param);
    deps.log.warn("response item peer did not answer", { peer: ref.holder, reason: answer.reason });
    return fail<string>(
      "RESPONSE_ITEM_UNAVAILABLE",
      "the gateway replica that streamed this item did not answer in time",
      param,
    );
  }
  return open(answer.bytes);
});

/**
 * `GET /v1/responses/streamed-items/<sha256(K)>` with the hop header: a peer replica asking for a
 * ciphertext this replica keeps. Answered from this replica's memory only (never passed on); the
 * bytes open only with the id the client holds, which never travels. Anything else: 404.
 */
export const serveStreamedItemCiphertext = Effect.fnUntraced(function* (
  deps: FrontDoorDeps,
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
) {
  const hash = path.slice(STREAMED_ITEM_PATH.length);
  const kept =
    req.headers[IMAGE_HOP_HEADER] !== undefined && STREAMED_ITEM_HASH.test(hash)
      ? deps.streamedItems.ciphertext(hash)
      : undefined;
  if (kept === undefined) {
    return yield* new RequestRefused({
      code: "RESPONSE_NOT_STORED",
      detail:
        "no such item here (this route serves other gateway replicas only; refer to an item with an item_reference in /v1/responses)",
      status: 404,
    });
  }
  res.writeHead(200, {
    "content-type": STREAMED_ITEM_TYPE,
    "content-length": String(kept.bytes.length),
    "cache-control": "no-store",
  });
  res.end(kept.bytes);
});
