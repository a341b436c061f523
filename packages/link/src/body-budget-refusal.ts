import type { ServerResponse } from "node:http";
import type { BodyBudget } from "@pocket-ai/runtime";
import { type AnyRouter, TRPCError } from "@trpc/server";
import { trpcCodeOf } from "./error-status.js";
import { formatError, JSON_HEADERS } from "./node-relay-wire.js";

/** The codes a body refused by a {@link BodyBudget} is answered with: a node's, or any other server's. */
export type BodiesBusyCode = "NODE_BUSY" | "REQUESTS_BUSY";

/** A coded failure the router's formatter turns into the envelope's `pocketCode`. */
class BodiesBusy extends Error {
  constructor(
    readonly code: BodiesBusyCode,
    message: string,
  ) {
    super(message);
  }
}

/**
 * The refusal of a body that does not fit a {@link BodyBudget} (503): on a node `NODE_BUSY`, which
 * a gateway takes as "try another node", elsewhere `REQUESTS_BUSY`; the message says what is full.
 */
export function bodiesBusyError(budget: BodyBudget, code: BodiesBusyCode = "NODE_BUSY"): TRPCError {
  const server = code === "NODE_BUSY" ? "node" : "server";
  const next = code === "NODE_BUSY" ? "retry on another node or in a few seconds" : "retry in a few seconds";
  const message = `the ${server} is receiving as many request bodies as it holds at once (${budget.limit} bytes in all): ${next}`;
  return new TRPCError({ code: trpcCodeOf(code), message, cause: new BodiesBusy(code, message) });
}

/**
 * Answers a call refused by a {@link BodyBudget} before any handler read it, in tRPC's shape for
 * one call (`{ error }`, shaped by `router`'s formatter: `pocketCode` is `code`), and closes the
 * connection after the answer: what the caller was still sending is not read.
 */
export function answerBodiesBusy(
  res: ServerResponse,
  options: {
    readonly router: AnyRouter;
    readonly budget: BodyBudget;
    readonly path: string;
    readonly code?: BodiesBusyCode;
  },
): void {
  const error = bodiesBusyError(options.budget, options.code);
  const { status, shape } = formatError(options.router, error, options.path, undefined);
  const body = JSON.stringify({ error: shape });
  res.writeHead(status, { ...JSON_HEADERS, "content-length": Buffer.byteLength(body), connection: "close" });
  res.end(body);
}
