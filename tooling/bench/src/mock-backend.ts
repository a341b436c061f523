/**
 * The benchmark's inference backend: an OpenAI-compatible server on 127.0.0.1 that answers at once.
 * Unary calls return a fixed completion; streams send `max_tokens` tokens with a fixed delay
 * between them (`--token-delay-ms`, or `delay=<ms>` in the last message to override it for one
 * request, which is how the open-streams phase keeps streams open). `/tokenize` and `/v1/models`
 * are there because the node's vLLM adapter calls them. Run as a child: it reports its URL over IPC.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { parseArgs } from "node:util";
import { onStopMessage, reportReady } from "./child-ipc.js";

const { values } = parseArgs({ options: { "token-delay-ms": { type: "string", default: "10" } } });
const defaultDelayMs = Number(values["token-delay-ms"]);
// Each word, with the space before it, is one token for the Llama and Mistral tokenizers, so a
// reply of `max_tokens` pieces is exactly `max_tokens` tokens: never an overrun the gateway refuses.
const WORDS = ["the", "and", "of", "to", "in", "is", "for", "on"];
const json = (res: http.ServerResponse, status: number, value: unknown) => {
  const body = JSON.stringify(value);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
  res.end(body);
};

interface Body {
  readonly model?: string;
  readonly max_tokens?: number;
  readonly stream?: boolean;
  readonly prompt?: string;
  readonly messages?: readonly { readonly content?: unknown }[];
}

const lastText = (body: Body) => {
  const content = body.messages?.at(-1)?.content ?? body.prompt ?? "";
  return typeof content === "string" ? content : "";
};

function answer(res: http.ServerResponse, chat: boolean, body: Body) {
  const n = Math.max(1, Math.min(body.max_tokens ?? 16, 4096));
  const promptTokens = lastText(body).split(/\s+/).length;
  const usage = { prompt_tokens: promptTokens, completion_tokens: n, total_tokens: promptTokens + n };
  const head = { id: "cmpl-bench", created: Math.floor(Date.now() / 1000), model: body.model ?? "mock" };
  const text = (i: number) => `${i === 0 ? "" : " "}${WORDS[i % WORDS.length]}`;
  if (body.stream !== true) {
    const content = Array.from({ length: n }, (_, i) => text(i)).join("");
    const choice = chat
      ? { index: 0, message: { role: "assistant", content }, finish_reason: "stop" }
      : { index: 0, text: content, finish_reason: "stop", logprobs: null };
    return json(res, 200, {
      ...head,
      object: chat ? "chat.completion" : "text_completion",
      choices: [choice],
      usage,
    });
  }
  const delay = Number(/delay=(\d+)/.exec(lastText(body))?.[1] ?? defaultDelayMs);
  const object = chat ? "chat.completion.chunk" : "text_completion";
  const chunk = (i: number, last: boolean) => {
    const choice = chat
      ? { index: 0, delta: { content: text(i) }, finish_reason: last ? "stop" : null }
      : { index: 0, text: text(i), finish_reason: last ? "stop" : null, logprobs: null };
    return `data: ${JSON.stringify({ ...head, object, choices: [choice] })}\n\n`;
  };
  res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
  let i = 0;
  const next = () => {
    if (res.destroyed) return;
    res.write(chunk(i, i === n - 1));
    i += 1;
    if (i < n) return void setTimeout(next, delay);
    res.write(`data: ${JSON.stringify({ ...head, object, choices: [], usage })}\n\n`);
    res.end("data: [DONE]\n\n");
  };
  next();
}

const server = http.createServer((req, res) => {
  const parts: Buffer[] = [];
  req.on("data", (c: Buffer) => parts.push(c));
  req.on("end", () => {
    const path = (req.url ?? "/").split("?")[0];
    if (req.method === "GET" && path === "/v1/models")
      return json(res, 200, { object: "list", data: [{ id: "mock", object: "model" }] });
    let body: Body;
    try {
      body = JSON.parse(Buffer.concat(parts).toString("utf8") || "{}") as Body;
    } catch {
      return json(res, 400, { error: { message: "invalid JSON" } });
    }
    if (path === "/tokenize") {
      const count = (body.prompt ?? "").split(/\s+/).filter(Boolean).length + 1;
      return json(res, 200, { count, tokens: Array.from({ length: count }, (_, i) => i) });
    }
    if (path === "/v1/chat/completions") return answer(res, true, body);
    if (path === "/v1/completions") return answer(res, false, body);
    json(res, 404, { error: { message: `no route ${path}` } });
  });
});
server.keepAliveTimeout = 60_000;
server.listen(0, "127.0.0.1", () => {
  reportReady({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` });
});
onStopMessage(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});
