import type { IncomingMessage, ServerResponse } from "node:http";
import type { BodyBudget, BodyRefusal } from "@pocket-ai/runtime";
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
 * a gateway takes as "try another node", elsewhere `REQUESTS_BUSY`; the message says what is full:
 * the whole budget, or the caller's own share of it, or its IPv6 /48's (`why`). A body larger than
 * the caller may ever send (`neverFits`, its share: `source` says whose) is no matter of waiting:
 * on a node still `NODE_BUSY` (another node may take it; the message says this one never will),
 * elsewhere `PAYLOAD_TOO_LARGE` (413), which no client retries.
 */
export function bodiesBusyError(
  budget: BodyBudget,
  code: BodiesBusyCode = "NODE_BUSY",
  why: BodyRefusal = "full",
  source?: string,
): TRPCError {
  const server = code === "NODE_BUSY" ? "node" : "server";
  const next = code === "NODE_BUSY" ? "retry on another node or in a few seconds" : "retry in a few seconds";
  if (why === "neverFits") {
    const message = `the ${server} receives at most ${budget.reach(source)} bytes of request bodies from one network at once, and this body is larger: it is never taken here; ${code === "NODE_BUSY" ? "send it to another node" : "send a smaller body"}`;
    return code === "NODE_BUSY"
      ? new TRPCError({ code: trpcCodeOf(code), message, cause: new BodiesBusy(code, message) })
      : new TRPCError({ code: "PAYLOAD_TOO_LARGE", message });
  }
  const message =
    why === "share"
      ? `the ${server} is receiving as many request bodies from your network as one network may send at once (${budget.share} bytes): send fewer at a time, or ${next} once earlier ones are answered`
      : why === "share48"
        ? `the ${server} is receiving as many request bodies from the IPv6 /48 your network is in as one /48 may send at once (${budget.share48} bytes): send fewer at a time, or ${next} once earlier ones are answered`
        : `the ${server} is receiving as many request bodies as it holds at once (${budget.limit} bytes in all): ${next}`;
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
    readonly why?: BodyRefusal;
    /** The caller's source, whose share a `neverFits` refusal names. */
    readonly source?: string | undefined;
  },
): void {
  answerError(
    res,
    options.router,
    bodiesBusyError(options.budget, options.code, options.why, options.source),
    options.path,
  );
}

/**
 * Serves tRPC calls whose bodies are read first, against `budget`: each part is taken as it
 * arrives for the caller's source (`sourceOf`), so what a caller holds is what it sent, never
 * what it declared, and one source holds at most the budget's share. A body that is whole goes to
 * `handler` as `req.body` (tRPC reads it from there); one that does not fit is answered
 * {@link answerBodiesBusy}, one past `maxBodySize` `PAYLOAD_TOO_LARGE`, both closing the
 * connection. A request without a body goes to `handler` as it is.
 */
export function budgetedCalls(options: {
  readonly router: AnyRouter;
  readonly budget: BodyBudget;
  /** The base path the tRPC handler serves, with a trailing slash: `/trpc/`. */
  readonly basePath: string;
  readonly maxBodySize: number;
  readonly sourceOf: (req: IncomingMessage) => string | undefined;
  readonly code?: BodiesBusyCode;
  readonly handler: (req: IncomingMessage, res: ServerResponse) => void;
}): (req: IncomingMessage, res: ServerResponse) => void {
  const { router, budget, basePath, maxBodySize, sourceOf, code, handler } = options;
  return (req, res) => {
    const bodiless =
      req.headers["content-length"] === undefined && req.headers["transfer-encoding"] === undefined;
    if (bodiless) return handler(req, res);
    const source = sourceOf(req);
    budget.readRequest(req, res, maxBodySize, source, (read) => {
      if (read.kind === "read") {
        (req as IncomingMessage & { body?: string }).body = read.body.toString("utf8");
        return handler(req, res);
      }
      if (res.destroyed) return;
      const path = (req.url ?? "").slice(basePath.length).split("?")[0] ?? "";
      if (read.kind === "refused")
        return answerBodiesBusy(res, {
          router,
          budget,
          path,
          why: read.why,
          source,
          ...(code === undefined ? {} : { code }),
        });
      const error = new TRPCError({
        code: "PAYLOAD_TOO_LARGE",
        message: `the request body is larger than ${maxBodySize} bytes`,
      });
      answerError(res, router, error, path);
    });
  };
}

/** Answers one call with `error` in tRPC's shape and closes the connection after the answer. */
function answerError(res: ServerResponse, router: AnyRouter, error: TRPCError, path: string): void {
  const { status, shape } = formatError(router, error, path, undefined);
  const body = JSON.stringify({ error: shape });
  res.writeHead(status, { ...JSON_HEADERS, "content-length": Buffer.byteLength(body), connection: "close" });
  res.end(body);
}
