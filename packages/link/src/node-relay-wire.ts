import { NODE_PROCEDURES } from "@pocket-ai/protocol";
import type { AnyRouter } from "@trpc/server";
import { TRPCError } from "@trpc/server";
import {
  getErrorShape,
  getHTTPStatusCodeFromError,
  getTRPCErrorFromUnknown,
} from "@trpc/server/unstable-core-do-not-import";

/**
 * The bytes tRPC 11 puts on the wire for the node's two relay procedures, written and read
 * directly on the relay path (`node-relay-server.ts`, `node-relay-caller.ts`) so a relay costs no
 * Web Request or Stream per call and no per-chunk walk of the data. The procedures stay in the
 * tRPC router: a plain tRPC client gets the same answer from either side.
 *
 * `relay` (tRPC's `httpLink`): `POST <base>/relay`, the input as the JSON body; the answer is
 * `{"result":{"data":…}}`, or `{"error":<shape>}` under the error's HTTP status.
 *
 * `relayStream` (`httpBatchStreamLink`, one operation): `POST <base>/relayStream?batch=1` with
 * `trpc-accept: application/jsonl` and `{"0":<input>}`; the answer is JSON lines: a head, three
 * lines that resolve the procedure's result to an async iterable (id 3), then one line per chunk
 * `[3,1,[[<chunk>]]]`, and `[3,0,[[]]]` at the end or `[3,2,<shape>]` for an error. A request the
 * server refuses before the procedure runs resolves the head's promise to `{"error":<shape>}`.
 */
export const STREAM_ID = 3;

/** The head and the lines that resolve the result to the chunk iterable. */
export const STREAM_PRELUDE =
  '{"0":[[0],[null,0,0]]}\n' +
  '[0,0,[[{"result":0}],["result",0,1]]]\n' +
  '[1,0,[[{"data":0}],["data",0,2]]]\n' +
  `[2,0,[[0],[null,1,${STREAM_ID}]]]\n`;

/** The head, then the request's refusal in place of the procedure's result. */
export function streamRefusalLines(shape: unknown): string {
  return `{"0":[[0],[null,0,0]]}\n[0,0,[[${JSON.stringify({ error: shape })}]]]\n`;
}

export const chunkLine = (json: string) => `[${STREAM_ID},1,[[${json}]]]\n`;
export const STREAM_END_LINE = `[${STREAM_ID},0,[[]]]\n`;
export const streamErrorLine = (shape: unknown) => `[${STREAM_ID},2,${JSON.stringify(shape)}]\n`;

/** The response headers tRPC's standalone adapter sends with these answers. */
export const JSON_HEADERS = { "content-type": "application/json", vary: "trpc-accept, accept" } as const;

export const RELAY_PATH = NODE_PROCEDURES.relay;
export const RELAY_STREAM_PATH = NODE_PROCEDURES.relayStream;

/** An error as the router's formatter shapes it, with its HTTP status: what tRPC would send. */
export function formatError(
  router: AnyRouter,
  error: unknown,
  path: string,
  input: unknown,
): { readonly status: number; readonly shape: unknown } {
  const trpcError = error instanceof TRPCError ? error : getTRPCErrorFromUnknown(error);
  const shape = getErrorShape({
    config: router._def._config,
    error: trpcError,
    type: "mutation",
    path,
    input,
    ctx: undefined,
  });
  return { status: getHTTPStatusCodeFromError(trpcError), shape };
}
