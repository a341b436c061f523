/**
 * The load generator: a keep-alive `node:http` client that runs `count` requests with
 * `concurrency` in flight against one target and records each latency; for streams, the time to
 * the first token and the gaps between tokens. Bounded by `count` and by `maxMs`.
 */
import http from "node:http";

export type System = "direct" | "floor" | "pocket" | "portkey";

export interface Target {
  readonly system: System;
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  /** More fronts of the same system (several gateways before one node): requests go to each in turn. */
  readonly more?: readonly { readonly url: string; readonly headers: Readonly<Record<string, string>> }[];
}

export interface SliceResult {
  readonly latencies: number[];
  readonly ttfts: number[];
  readonly gaps: number[];
  /** Token events received (streams). */
  tokens: number;
  errors: number;
  firstError?: string;
  readonly elapsedMs: number;
}

/**
 * An event's text (a chat delta's `content`, a completion's `text`). The mock's tokens are words,
 * each with the space before it, so an event's words are its tokens: a path that folds tokens that
 * arrived together into one event (the node does, see `coalesce.ts`) is counted by tokens, not events.
 */
const TEXT = /"(?:content|text)":"((?:[^"\\]|\\.)+)"/;
const WORDS = /\S+/g;

export function makeLoadClient(target: Target, maxSockets: number) {
  const agent = new http.Agent({ keepAlive: true, maxSockets, maxFreeSockets: maxSockets });
  const fronts = [target, ...(target.more ?? [])].map((front) => ({
    url: new URL(`${front.url}/v1/chat/completions`),
    headers: front.headers,
  }));
  let turn = 0;

  const one = (body: string, out: SliceResult) =>
    new Promise<void>((resolve) => {
      const started = performance.now();
      const front = fronts[turn++ % fronts.length]!;
      const url = front.url;
      const headers = {
        ...front.headers,
        "content-type": "application/json",
        "content-length": String(Buffer.byteLength(body)),
      };
      const req = http.request(url, { method: "POST", agent, headers }, (res) => {
        let last = 0;
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => {
          const now = performance.now();
          if (res.statusCode !== 200) {
            text += chunk;
            return;
          }
          for (const event of chunk.split("\n\n")) {
            if (!event.startsWith("data:")) continue;
            const text = TEXT.exec(event)?.[1];
            if (text === undefined) continue;
            const tokens = Math.max(1, text.match(WORDS)?.length ?? 0);
            out.tokens += tokens;
            if (last === 0) out.ttfts.push(now - started);
            else out.gaps.push(now - last);
            // The event's other tokens came with it: no wait between them.
            for (let i = 1; i < tokens; i++) out.gaps.push(0);
            last = now;
          }
        });
        res.on("end", () => {
          if (res.statusCode === 200) out.latencies.push(performance.now() - started);
          else {
            out.errors += 1;
            out.firstError ??= `HTTP ${res.statusCode}: ${text.slice(0, 300)}`;
          }
          resolve();
        });
        res.on("error", () => resolve());
      });
      req.on("error", (e) => {
        out.errors += 1;
        out.firstError ??= e.message;
        resolve();
      });
      req.end(body);
    });

  /** Runs up to `count` requests, `concurrency` at a time, stopping early after `maxMs`. */
  const slice = async (body: string, concurrency: number, count: number, maxMs: number) => {
    const out: SliceResult = { latencies: [], ttfts: [], gaps: [], tokens: 0, errors: 0, elapsedMs: 0 };
    const started = performance.now();
    let issued = 0;
    const worker = async () => {
      while (issued < count && performance.now() - started < maxMs) {
        issued += 1;
        await one(body, out);
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
    return { ...out, elapsedMs: performance.now() - started };
  };

  return { slice, one, close: () => agent.destroy() };
}
