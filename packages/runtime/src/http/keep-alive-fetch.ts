import http from "node:http";
import https from "node:https";
import type { LookupFunction } from "node:net";

/** The part of a fetch `Response` that tRPC's links read. */
export interface KeepAliveResponse {
  readonly ok: boolean;
  readonly status: number;
  readonly body: http.IncomingMessage;
  json(): Promise<unknown>;
  text(): Promise<string>;
}

export interface KeepAliveFetch {
  readonly fetch: (
    input: string | URL | { readonly url: string },
    init?: {
      readonly method?: string | undefined;
      readonly headers?: unknown;
      readonly body?: unknown;
      readonly signal?: AbortSignal | null | undefined;
    },
  ) => Promise<KeepAliveResponse>;
  /** Closes the pooled sockets (when the routing layer stops). */
  readonly close: () => void;
}

function headersOf(headers: unknown): Record<string, string> {
  if (headers === undefined || headers === null) return {};
  if (Array.isArray(headers)) return Object.fromEntries(headers as [string, string][]);
  if (headers instanceof Headers) return Object.fromEntries(headers.entries());
  return { ...(headers as Record<string, string>) };
}

/**
 * A minimal `fetch` on `node:http` with keep-alive agents, for the gateway → node and node →
 * engine hops. Node's
 * global fetch (undici) costs about a millisecond per loopback round trip; pooled `http.request`
 * sockets cost a fraction of that, which matters for the gateway's overhead budget. Bodies are
 * strings (tRPC sends JSON); the response body is the Node stream, which tRPC's stream link reads.
 * Aborting the signal destroys the socket, so the node sees the client go away.
 */
export function makeKeepAliveFetch(
  options: {
    readonly maxSockets?: number;
    /** Resolves a host name as each socket opens (see `publicAddressLookup`); default the system's. */
    readonly lookup?: LookupFunction | undefined;
  } = {},
): KeepAliveFetch {
  const agentOptions = {
    keepAlive: true,
    maxSockets: options.maxSockets ?? 256,
    scheduling: "lifo" as const,
    ...(options.lookup === undefined ? {} : { lookup: options.lookup }),
  };
  const agents = { "http:": new http.Agent(agentOptions), "https:": new https.Agent(agentOptions) };
  const fetch: KeepAliveFetch["fetch"] = (input, init = {}) =>
    new Promise((resolve, reject) => {
      const url = new URL(typeof input === "string" || input instanceof URL ? input : input.url);
      const signal = init.signal ?? undefined;
      if (signal?.aborted) return reject(signal.reason);
      const body = typeof init.body === "string" ? init.body : undefined;
      const headers = headersOf(init.headers);
      if (body !== undefined) headers["content-length"] = String(Buffer.byteLength(body));
      const secure = url.protocol === "https:";
      const request = (secure ? https : http).request(
        url,
        { method: init.method ?? "GET", headers, agent: agents[secure ? "https:" : "http:"] },
        (res) => {
          res.once("close", () => signal?.removeEventListener("abort", onAbort));
          const status = res.statusCode ?? 0;
          resolve({
            ok: status >= 200 && status < 300,
            status,
            body: res,
            json: () => readText(res).then((text) => JSON.parse(text) as unknown),
            text: () => readText(res),
          });
        },
      );
      const onAbort = () =>
        request.destroy(signal?.reason instanceof Error ? signal.reason : new Error("aborted"));
      signal?.addEventListener("abort", onAbort, { once: true });
      request.once("error", (e) => {
        signal?.removeEventListener("abort", onAbort);
        reject(e);
      });
      request.end(body);
    });
  return {
    fetch,
    close: () => {
      agents["http:"].destroy();
      agents["https:"].destroy();
    },
  };
}

function readText(res: http.IncomingMessage): Promise<string> {
  return new Promise((ok, fail) => {
    const parts: Buffer[] = [];
    res.on("data", (c: Buffer) => parts.push(c));
    res.once("end", () => ok(Buffer.concat(parts).toString("utf8")));
    res.once("error", fail);
  });
}
