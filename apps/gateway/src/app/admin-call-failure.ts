import { pocketCodeOf } from "@pocket-ai/link";
import { TRPCClientError } from "@trpc/client";
import { isLoopbackHost } from "../portal/portal-config.js";

/**
 * The code an admin or settlement command prints when its `--url` answers, but not as a Pocket AI
 * gateway's admin API (a node's or an evaluator's address, the gateway's `/v1` base, a web page).
 */
export const NOT_A_GATEWAY_ADMIN_API = "NOT_A_GATEWAY_ADMIN_API";

/** The socket error under a failed `fetch` (`ECONNREFUSED`, `ENOTFOUND`…), when there is one. */
function socketErrorOf(e: unknown): string | undefined {
  for (let cause = e, depth = 0; cause instanceof Error && depth < 4; depth++) {
    const code = (cause as { code?: unknown }).code;
    if (typeof code === "string" && /^E[A-Z]+$|^UND_ERR/.test(code)) return code;
    cause = (cause as { cause?: unknown }).cause;
  }
  return undefined;
}

/**
 * What answered at the URL, when it was not the gateway's admin API: a body that is not JSON, JSON
 * that is no tRPC answer, or a tRPC API without the procedure called. Undefined for anything else
 * (the gateway's own answers, network failures).
 */
function notAdminApi(e: unknown): string | undefined {
  if (!(e instanceof TRPCClientError)) return undefined;
  const data: unknown = e.data;
  if (
    typeof data === "object" &&
    data !== null &&
    (data as { code?: unknown }).code === "NOT_FOUND" &&
    e.message.startsWith("No procedure found on path")
  )
    return `it has no ${/"(.+)"/.exec(e.message)?.[1] ?? "such"} procedure (it is a node's or an evaluator's API, or a gateway older than this command)`;
  if (e.cause instanceof SyntaxError) return "its answer is not JSON (a web page or plain text)";
  // tRPC's TransformResultError: JSON, but not shaped as a tRPC answer.
  if (e.message === "Unable to transform response from server") {
    const status = (e.meta?.response as { status?: unknown } | undefined)?.status;
    return `its answer${typeof status === "number" ? ` (HTTP ${status})` : ""} is JSON of another API`;
  }
  return undefined;
}

/**
 * The URL to pass instead of one under the OpenAI base (`…/v1`, `…/v1/models`) or the web portal
 * (`…/portal/…`): the gateway's admin API sits beside them, not under them.
 */
function withoutV1(url: string): string | undefined {
  const base = url.replace(/\/trpc\/?$/, "");
  const under = /^(.*?)\/(v1|portal)(\/.*)?$/.exec(base);
  return under?.[1] === undefined || under[1] === "" ? undefined : under[1];
}

/** The code an admin or settlement command prints when its `--url` is no http(s) address at all. */
export const BAD_GATEWAY_URL = "BAD_GATEWAY_URL";

/**
 * The code an admin or settlement command prints, before any request, when its `--url` is plain
 * `http://` to a host other than this machine: the admin token would cross the network in clear.
 */
export const INSECURE_GATEWAY_URL = "INSECURE_GATEWAY_URL";

/**
 * What an admin or settlement command prints instead of calling `url` with the admin token, or
 * undefined when it may: `https://`, or `http://` to this machine's loopback (`127.0.0.1`, `::1`,
 * `localhost`). The token opens every key, budget and rate, so a typo or a stale
 * `POCKET_GATEWAY_URL` must not put it on the wire in clear; `--insecure` is the operator saying
 * the network is theirs.
 */
export function insecureAdminUrl(url: string): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return undefined; // BAD_GATEWAY_URL says what is wrong with it
  }
  if (parsed.protocol !== "http:" || isLoopbackHost(parsed.hostname)) return undefined;
  const https = `https://${parsed.host}${parsed.pathname.replace(/\/trpc\/?$/, "")}`;
  return `${INSECURE_GATEWAY_URL}: ${parsed.origin} is plain http to another host: the admin token would cross the network in clear, so it was not sent. Pass the gateway's https:// address (--url ${https}), run the command on the gateway's machine (http://127.0.0.1:<port>), or add --insecure if the network between is yours`;
}

/**
 * The code an admin or settlement command prints when nothing answers at its `--url` (a refused or
 * broken connection, an unknown host) or the answer does not come within the command's time.
 */
export const GATEWAY_UNREACHABLE = "GATEWAY_UNREACHABLE";

/**
 * The code an admin or settlement command prints when the admin API failed the call without a
 * code of its own (a proxy's error page as tRPC, a gateway's internal error).
 */
export const ADMIN_CALL_FAILED = "ADMIN_CALL_FAILED";

/** What an admin or settlement command prints when the admin API at `url` did not answer within `seconds`. */
export function adminCallTimedOut(url: string, seconds: number): string {
  return `${GATEWAY_UNREACHABLE}: the gateway's admin API at ${url} did not answer within ${seconds} s: check that the gateway there runs and is not overloaded (its log), or pass --url or set POCKET_GATEWAY_URL to the one to call`;
}

/**
 * What an admin command prints when its call to the gateway's admin API failed: the gateway's
 * stable code and message; when the URL answers as something else, that it is not a gateway's
 * admin API and what to pass instead; or, when the gateway could not be reached at all, where it
 * was looked for and how to point the command elsewhere (instead of fetch's bare "fetch failed").
 */
export function adminCallFailure(e: unknown, url: string): string {
  let protocol: string | undefined;
  try {
    protocol = new URL(url).protocol;
  } catch {
    protocol = undefined;
  }
  if (protocol !== "http:" && protocol !== "https:")
    return `${BAD_GATEWAY_URL}: ${url.replace(/\/trpc\/?$/, "")} is not an http:// or https:// address; pass --url or set POCKET_GATEWAY_URL to the gateway's address with its scheme, e.g. http://127.0.0.1:8080`;
  const other = notAdminApi(e);
  if (other !== undefined) {
    const base = withoutV1(url);
    return (
      `${NOT_A_GATEWAY_ADMIN_API}: ${url} does not answer as a Pocket AI gateway's admin API: ${other}. ` +
      (base === undefined
        ? "Pass --url or set POCKET_GATEWAY_URL to the gateway's own address (its listen address, e.g. http://127.0.0.1:8080), not a node's, an evaluator's or the /v1 base"
        : `That address is under the gateway's OpenAI base (/v1) or its portal: pass the gateway's own address, --url ${base}`)
    );
  }
  const code = pocketCodeOf(e);
  const reason = e instanceof Error ? e.message : String(e);
  if (code !== undefined) return `${code}: ${reason}`;
  const socket = socketErrorOf(e);
  if (socket !== undefined || reason === "fetch failed")
    return (
      `${GATEWAY_UNREACHABLE}: cannot reach the gateway's admin API at ${url}${socket === undefined ? "" : ` (${socket})`}: ` +
      "is the gateway running there? Pass --url or set POCKET_GATEWAY_URL to the one to call"
    );
  return `${ADMIN_CALL_FAILED}: the gateway's admin API at ${url} failed the call without a code (${reason}): read the gateway's log, and check that nothing between this command and the gateway answers in its place`;
}
