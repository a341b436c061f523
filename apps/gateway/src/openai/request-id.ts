import { randomBytes } from "node:crypto";
import type { IncomingMessage } from "node:http";

/** The header that names one request, on every answer (and in every error body as `request_id`). */
export const REQUEST_ID_HEADER = "x-request-id";

/**
 * What a client's own request id may look like to be echoed back: letters, digits and `._:-`, at
 * most 64 characters. Anything else (control characters, long values, other punctuation) could
 * inject into logs or headers, so it is replaced by one the gateway makes.
 */
const SAFE_CLIENT_ID = /^[A-Za-z0-9._:-]{8,64}$/;

/** Random bytes drawn at once for this many request ids (each id uses its own bytes, once). */
const IDS_PER_DRAW = 256;
const ID_BYTES = 12;
let drawn = Buffer.alloc(0);
let next = 0;

/** A fresh request id: `req_` and 24 random hex digits (unguessable, sortable by nothing). */
export function newRequestId(): string {
  if (next + ID_BYTES > drawn.length) {
    drawn = randomBytes(ID_BYTES * IDS_PER_DRAW);
    next = 0;
  }
  const id = drawn.toString("hex", next, next + ID_BYTES);
  next += ID_BYTES;
  return `req_${id}`;
}

/** The request's id: the client's `x-request-id` when it is safe to echo, else a fresh one. */
export function requestIdOf(req: IncomingMessage): string {
  const sent = req.headers[REQUEST_ID_HEADER];
  const value = Array.isArray(sent) ? sent[0] : sent;
  return value !== undefined && SAFE_CLIENT_ID.test(value) ? value : newRequestId();
}
