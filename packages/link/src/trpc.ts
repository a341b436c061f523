import type { IncomingMessage } from "node:http";
import { type ErrorCode, ErrorCodes } from "@pocket-ai/protocol";
import { initTRPC, type TRPC_ERROR_CODE_KEY } from "@trpc/server";
import type { Runtime } from "effect";
import { codeOfFailure, detailOfFailure } from "./pocket-code.js";
import { InternalFailure, uncodedFailureOf } from "./run-procedure.js";

/**
 * What every procedure gets: the request's `Authorization: Bearer` value (if any) and the serving
 * app's runtime, on which procedures run their Effects (its services, clock and logger).
 */
export interface LinkContext {
  readonly bearerToken?: string | undefined;
  /**
   * The network the request came from, as the serving app tells it (behind its own proxies, as a
   * keyed tag or an address): what per-source limits count by. Undefined when the app says nothing.
   */
  readonly clientNetwork?: string | undefined;
  readonly runtime: Runtime.Runtime<never>;
}

/**
 * The error envelope every app answers with: tRPC's code and HTTP status, the protocol's stable
 * code (`null` for failures that have none) and, when the failure names what exactly was wrong,
 * `detail`. Never a stack trace or a path.
 */
export interface LinkErrorData {
  readonly code: TRPC_ERROR_CODE_KEY;
  readonly httpStatus: number;
  readonly pocketCode: ErrorCode | null;
  readonly detail?: string;
}

/**
 * tRPC's own refusals that the caller fixes: input that fails a procedure's schema, a body that is
 * not JSON, a procedure that does not exist, the wrong HTTP method or content type, a body too
 * large. Uncoded, they travel as `INVALID_REQUEST` (under tRPC's own status), as the HTTP front
 * door answers an unknown route or method.
 */
const CALLER_FIXES: ReadonlySet<TRPC_ERROR_CODE_KEY> = new Set<TRPC_ERROR_CODE_KEY>([
  "BAD_REQUEST",
  "PARSE_ERROR",
  "NOT_FOUND",
  "METHOD_NOT_SUPPORTED",
  "UNSUPPORTED_MEDIA_TYPE",
  "PAYLOAD_TOO_LARGE",
  "UNPROCESSABLE_CONTENT",
]);

/** Issues an input refusal names at most, and characters of each name or reason. */
const MAX_ISSUES = 10;
const MAX_ISSUE_PART = 200;

/** One step of an issue's path: a key or an index, or a Standard Schema `{ key }` segment. */
const pathSegment = (segment: unknown): string =>
  typeof segment === "object" && segment !== null && "key" in segment
    ? String((segment as { key: unknown }).key)
    : String(segment);

/** A caller's text as a message may carry it: no control characters, at most {@link MAX_ISSUE_PART}. */
const printable = (text: string): string => {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is removed
  const clean = text.replace(/[\u0000-\u001f\u007f-\u009f]/g, " ");
  return clean.length > MAX_ISSUE_PART ? `${clean.slice(0, MAX_ISSUE_PART)}…` : clean;
};

/**
 * The fields and reasons of an input a procedure's schema refused (`status: Invalid option…;
 * limit: Too small…`), when `cause` carries its validator's issues; the validator's own message
 * is their JSON, which is no message for a person.
 */
function inputIssuesText(cause: unknown): string | undefined {
  const issues = (cause as { issues?: unknown } | null | undefined)?.issues;
  if (!Array.isArray(issues) || issues.length === 0) return undefined;
  const parts: string[] = [];
  for (const issue of issues.slice(0, MAX_ISSUES)) {
    const { path, message } = (issue ?? {}) as { path?: unknown; message?: unknown };
    if (typeof message !== "string") return undefined;
    const names = Array.isArray(path) ? path.map(pathSegment) : [];
    const field = names.length > 0 ? `${printable(names.join("."))}: ` : "";
    parts.push(`${field}${printable(message)}`);
  }
  const more = issues.length > MAX_ISSUES ? `; and ${issues.length - MAX_ISSUES} more` : "";
  return `the input is not valid: ${parts.join("; ")}${more}`;
}

const t = initTRPC.context<LinkContext>().create({
  isDev: false,
  errorFormatter({ shape, error }) {
    const coded = codeOfFailure(error.cause);
    const pocketCode = coded ?? (CALLER_FIXES.has(error.code) ? "INVALID_REQUEST" : null);
    const detail = coded === undefined ? undefined : detailOfFailure(error.cause);
    const data: LinkErrorData = {
      code: shape.data.code,
      httpStatus: shape.data.httpStatus,
      pocketCode,
      ...(detail === undefined ? {} : { detail }),
    };
    // An uncoded internal failure says nothing about itself (its message may name files or hosts)
    // but the id it was logged under, when it went through `linkErrorOf`.
    const message =
      error.code === "INTERNAL_SERVER_ERROR" && coded === undefined
        ? error.cause instanceof InternalFailure
          ? error.cause.message
          : (uncodedFailureOf(error)?.message ?? ErrorCodes.INTERNAL.message)
        : ((error.code === "BAD_REQUEST" && coded === undefined ? inputIssuesText(error.cause) : undefined) ??
          shape.message);
    return { message, code: shape.code, data };
  },
});

export const router = t.router;
export const mergeRouters = t.mergeRouters;
export const publicProcedure = t.procedure;
export const middleware = t.middleware;
export const createCallerFactory = t.createCallerFactory;

/**
 * The token of an `Authorization` header value: `Bearer <token>` (scheme case-insensitive) or the
 * bare token; `undefined` when nothing is there.
 */
export function bearerTokenOf(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const trimmed = header.trim();
  const match = /^bearer\s+(.+)$/i.exec(trimmed);
  const token = match === null ? trimmed : (match[1] ?? "").trim();
  return token === "" ? undefined : token;
}

/**
 * The `createContext` for `@trpc/server` adapters that hand over a Node request: the bearer token,
 * the client's network when the app says how to read it (`clientNetwork`), and the app's runtime,
 * which must provide every service the app's procedures ask for.
 */
export function contextFromRequest<R>(
  runtime: Runtime.Runtime<R>,
  options: { readonly clientNetwork?: (req: IncomingMessage) => string } = {},
) {
  return ({ req }: { req: IncomingMessage }): LinkContext => ({
    bearerToken: bearerTokenOf(req.headers.authorization),
    clientNetwork: options.clientNetwork?.(req),
    runtime,
  });
}
