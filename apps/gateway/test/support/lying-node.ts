import { mkdtempSync, rmSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { makeNodeClient } from "@pocket-ai/link";
import { NodeConfig, type RunningNode, startNode } from "@pocket-ai/node";
import {
  createRelayResponse,
  deriveSessionHeader,
  type HeadCadence,
  type RelayResponse,
  type RelayStreamChunk,
  RelayStreamSigner,
  type RelayUsage,
  relayRequestHash,
} from "@pocket-ai/protocol";
import { createLogger } from "@pocket-ai/runtime";
import { initTRPC, TRPCError } from "@trpc/server";
import { createHTTPServer } from "@trpc/server/adapters/standalone";
import { Effect, Exit, Scope } from "effect";
import { z } from "zod";

/** The code a node telling the `unknown-code` lie answers with: not one, and hostile to show. */
export const UNKNOWN_CODE = `PAY_ME_ANYWAY\u202e\u001b[2J${"X".repeat(10_240)}`;

/**
 * How a lying node answers. Every lie is signed with the node's own valid key (or, for the
 * transport-level ones, sent as a coded tRPC error as a real node would): the gateway cannot
 * reject it on the signature, only on what it checks itself.
 */
export type Lie =
  | "honest"
  /** Declares the request's whole output allowance while delivering a few characters. */
  | "inflated-usage"
  /** Delivers hundreds of words past `max_tokens`, declaring usage within the limit. */
  | "extra-text"
  /** Blames the request (INPUT_TOO_LONG) on an unsigned transport error. */
  | "blame-unsigned"
  /** Blames the request (INPUT_TOO_LONG) in a signed answer; the prompt is short. */
  | "blame-signed-false"
  /**
   * Answers with a code outside the protocol's table (transport error: a signed one cannot parse),
   * {@link UNKNOWN_CODE}: 10 KB holding a right-to-left override and a terminal escape.
   */
  | "unknown-code"
  /** Streams a few chunks, then a signed error trailer claiming the whole output allowance. */
  | "broken-stream"
  /** Streams a few chunks, then drops the connection (a failure, not a lie: billing is checked). */
  | "cut-stream"
  /** Signs an answer that is not the operation's OpenAI shape (streams: the second chunk). */
  | "off-schema"
  /** Streams only: signs a first chunk that is not the operation's OpenAI shape (before any byte reached the client). */
  | "off-schema-first"
  /** Streams only: sends the first chunk without a signature (the node never vouched for it). */
  | "unsigned-first"
  /** Streams only: a signed first chunk carrying hundreds of words past `max_tokens`. */
  | "overflow-first"
  /** Streams only: a first chunk that is a signed `ok` final claiming the whole output allowance for no text. */
  | "inflated-empty"
  /** Signs an answer for another service's session. */
  | "wrong-service"
  /**
   * Signs answers (streams: every chunk) that carry an OpenAI-style `error` member, which a client
   * would read as the gateway's own error: here `RATE_LIMITED`, a code the evaluator excuses.
   */
  | "error-member"
  /**
   * Adds a key of its own to its answer's envelope (unary) whose name is {@link NODE_WORDS}: text
   * that must never reach the gateway's log, its admin pages or a client.
   */
  | "envelope-words"
  /** Chat: answers with two tool calls in the first choice (streams: two tool-call indexes). */
  | "two-tool-calls"
  /** Chat: answers with one tool call (streams: one index over two deltas), which no limit refuses. */
  | "one-tool-call"
  /** Chat: calls a tool in its first chunk, before any byte reached the client (unary: as `one-tool-call`). */
  | "tool-call-first"
  /** Chat: ends its text with `finish_reason: "tool_calls"`, calling no tool (streams: the finishing chunk). */
  | "tool-calls-finish"
  /**
   * Signs usage above its own (see {@link padUsage}) that no check can prove wrong, and shows the
   * same in the answer's OpenAI `usage` (streams: the usage chunk), with detail counts above both.
   */
  | "padded-usage"
  /** Streams only: leaves out the usage chunk (as engines that ignore `include_usage` do). */
  | "no-usage-chunk"
  /** Answers its {@link LyingNode.script} (honestly or not: the script says what it signs). */
  | "scripted";

/**
 * The answer a `scripted` node gives in place of its engine's: one choice, with the text (or a
 * tool call's arguments) and finish reason given, signing `outputTokens` (the node's own input
 * count stays). Streamed: the text, then the finishing chunk, then the usage chunk, then the
 * final chunk; with `oneChunk`, the whole choice in one chunk.
 */
export interface Script {
  readonly text: string;
  /** Chat: the choice calls a tool with these arguments (its content empty). */
  readonly toolArguments?: string;
  readonly finishReason: "stop" | "length" | "tool_calls";
  readonly outputTokens: number;
  /**
   * Streams: the whole choice in one chunk (no usage chunk), a data chunk before the final one
   * (`data`) or the final chunk itself, the only one of the stream (`final`).
   */
  readonly oneChunk?: "data" | "final";
}

/** Input tokens a `padded-usage` node adds to its usage: the gateway bills no more than it counts. */
export const INPUT_PADDING = 1_000;

/**
 * Usage with {@link INPUT_PADDING} more input tokens (the output stays: the development backend
 * writes up to `max_tokens`, and more would be over the request's limit).
 */
const padUsage = (usage: RelayUsage): RelayUsage => ({
  ...usage,
  inputTokens: usage.inputTokens + INPUT_PADDING,
});

/**
 * An OpenAI `usage` with {@link INPUT_PADDING} more input tokens and more output tokens than the
 * node signed, detail counts above its totals and a figure of the node's own.
 */
function padOpenAiUsage(usage: unknown): unknown {
  const sent = usage as { prompt_tokens: number; completion_tokens: number };
  const prompt = sent.prompt_tokens + INPUT_PADDING;
  const completion = sent.completion_tokens + 5;
  return {
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: prompt + completion,
    prompt_tokens_details: { cached_tokens: prompt, note: "all cached" },
    completion_tokens_details: { reasoning_tokens: 10_000 },
    billed_tokens: 99_999,
  };
}

/** Text a node could send to forge a log line (or that stands for a prompt's or an output's words). */
export const NODE_WORDS = 'node-words"}\n{"level":"error","msg":"forged by the node';

/** The error member of an `error-member` lie, as OpenAI writes a rate limit. */
const RATE_LIMITED_ERROR = {
  code: "RATE_LIMITED",
  message: "Rate limit reached; retry later.",
  type: "rate_limit_error",
};

/** What the proxy passes on: relays answered, by how the lie was applied. */
export interface LyingNode {
  readonly address: string;
  lie: Lie;
  /** Relays that reached this node (lying or not). */
  relays: number;
  /** The usage the node signed into its last whole answer (lying or not). */
  readonly declared: RelayUsage | undefined;
  /** What a `scripted` node answers. */
  script: Script | undefined;
  stop(): Promise<void>;
}

type Server = ReturnType<typeof createHTTPServer>;
const listen = async (server: Server) => {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
};

/** The node's transport error shape: the protocol code in `data.pocketCode` (see the node's `trpc.ts`). */
const t = initTRPC.create({
  errorFormatter({ shape, error }) {
    const cause = error.cause as { pocketCode?: unknown; detail?: unknown } | undefined;
    return {
      ...shape,
      data: { ...shape.data, stack: undefined, pocketCode: cause?.pocketCode, detail: cause?.detail },
    };
  },
});
class Coded extends Error {
  constructor(
    readonly pocketCode: string,
    readonly detail: string,
  ) {
    super(pocketCode);
  }
}
const coded = (code: string, detail: string) =>
  new TRPCError({ code: "BAD_REQUEST", message: detail, cause: new Coded(code, detail) });

/** Tool calls as OpenAI writes them in an answer's message. */
const toolCalls = (count: number) =>
  Array.from({ length: count }, (_, i) => ({
    id: `call_${i}`,
    type: "function",
    function: { name: "lookup", arguments: `{"city":"c${i}"}` },
  }));

/** A unary chat answer whose first choice calls `count` tools. */
function withToolCalls(payload: unknown, count: number): unknown {
  const answer = structuredClone(payload) as { choices?: { message?: Record<string, unknown> }[] };
  const message = answer.choices?.[0]?.message;
  if (message !== undefined) message.tool_calls = toolCalls(count);
  return answer;
}

/** A copy of a chat answer or chunk whose choices that finished say `tool_calls`. */
function withToolCallsFinish(data: unknown): unknown {
  const copy = structuredClone(data) as { choices?: { finish_reason?: unknown }[] };
  for (const choice of copy.choices ?? [])
    if (choice.finish_reason !== null && choice.finish_reason !== undefined)
      choice.finish_reason = "tool_calls";
  return copy;
}

/**
 * Streamed chunks (copies of the node's `like`) whose first choice's deltas open `count` tool
 * calls, each in two deltas (its id and name, then its arguments), as OpenAI streams them.
 */
function toolCallChunks(like: unknown, count: number): unknown[] {
  return toolCalls(count).flatMap(({ function: fn, ...call }, index) =>
    [
      { index, ...call, function: { name: fn.name, arguments: "" } },
      { index, function: { arguments: fn.arguments } },
    ].map((delta) => {
      const chunk = structuredClone(like) as { choices?: Record<string, unknown>[] };
      chunk.choices = [{ index: 0, delta: { tool_calls: [delta] }, finish_reason: null }];
      return chunk;
    }),
  );
}

const MORE = Array.from({ length: 300 }, () => " more").join("");

/** Rewrites the OpenAI answer's text (first choice) with `edit`. */
function editText(payload: unknown, edit: (text: string) => string): unknown {
  const answer = structuredClone(payload) as {
    choices?: { text?: string; message?: { content?: string | null } }[];
  };
  const choice = answer.choices?.[0];
  if (choice === undefined) return answer;
  if (typeof choice.text === "string") choice.text = edit(choice.text);
  if (choice.message !== undefined) choice.message.content = edit(choice.message.content ?? "");
  return answer;
}

/**
 * A copy of a streamed chat chunk (`like`, the node's own, so every other field stays in the
 * operation's shape) whose first choice's delta carries `content` and no finish reason.
 */
function chunkWithText(like: unknown, content: string): unknown {
  const chunk = structuredClone(like) as { choices?: Record<string, unknown>[] };
  const choice = chunk.choices?.[0] ?? { index: 0 };
  chunk.choices = [{ ...choice, delta: { content }, finish_reason: null }];
  return chunk;
}

/** The usage an OpenAI answer shows for `script`, over the node's own prompt tokens. */
function scriptedUsage(usage: unknown, script: Script) {
  const prompt = (usage as { prompt_tokens?: number } | null)?.prompt_tokens ?? 0;
  return {
    prompt_tokens: prompt,
    completion_tokens: script.outputTokens,
    total_tokens: prompt + script.outputTokens,
  };
}

/** A choice (`delta` for a chunk, else `message`) carrying the script's text or tool call. */
function scriptedChoice(like: { object?: unknown }, script: Script, chunk: boolean) {
  const finish_reason = script.finishReason;
  if (like.object === "text_completion")
    return { index: 0, text: script.text, logprobs: null, finish_reason };
  const call = {
    id: "call_0",
    type: "function",
    function: { name: "lookup", arguments: script.toolArguments },
  };
  const body =
    script.toolArguments === undefined
      ? { role: "assistant", content: script.text }
      : {
          role: "assistant",
          content: chunk ? undefined : null,
          tool_calls: [chunk ? { index: 0, ...call } : call],
        };
  return {
    index: 0,
    [chunk ? "delta" : "message"]: body,
    ...(chunk ? {} : { logprobs: null }),
    finish_reason,
  };
}

/** A unary answer of the script, in the shape of the engine's `payload`. */
function scriptedAnswer(payload: unknown, script: Script): unknown {
  const answer = structuredClone(payload) as { object?: unknown; choices?: unknown[]; usage?: unknown };
  answer.choices = [scriptedChoice(answer, script, false)];
  answer.usage = scriptedUsage(answer.usage, script);
  return answer;
}

/** The data chunks of a streamed script, copies of the engine's chunk `like` (see {@link Script}). */
function scriptedChunks(like: unknown, usage: unknown, script: Script): unknown[] {
  const copy = (fields: Record<string, unknown>) => ({ ...(structuredClone(like) as object), ...fields });
  const choice = scriptedChoice(like as { object?: unknown }, script, true);
  if (script.oneChunk !== undefined) return [copy({ choices: [choice] })];
  return [
    copy({ choices: [{ ...choice, finish_reason: null }] }),
    copy({
      choices: [
        {
          index: 0,
          ...(choice.text === undefined ? { delta: {} } : { text: "" }),
          finish_reason: script.finishReason,
        },
      ],
    }),
    copy({ choices: [], usage: scriptedUsage(usage, script) }),
  ];
}

/**
 * A real node (development backend) behind a proxy that lies with the node's own key, announcing
 * the proxy as its endpoint. `lie` can be changed between requests. Its streams sign chain heads
 * at the node's configured cadence (every 16 chunks or 200 ms by default, and always the first
 * and the final chunk), as a real node does: most chunks a client receives are not signed yet.
 */
export async function startLyingNode(options: {
  readonly gatewayTrpcUrl: string;
  readonly gatewayAddress: string;
  readonly session: unknown;
  readonly maxTokens: number;
}): Promise<LyingNode> {
  const dataDir = mkdtempSync(join(tmpdir(), "pocket-lying-node-"));
  let node: RunningNode | undefined;
  const state = {
    lie: "honest" as Lie,
    relays: 0,
    declared: undefined as RelayUsage | undefined,
    script: undefined as Script | undefined,
  };
  let cadence: HeadCadence | undefined;
  // The node announces the proxy as its endpoint: the proxy calls the node at its own address.
  const caller = () => makeNodeClient(`${node!.url}/trpc`);

  const resign = (answer: RelayResponse, change: Partial<RelayResponse>): RelayResponse => {
    const { signature: _s, v: _v, node: _n, ...fields } = { ...answer, ...change };
    return createRelayResponse(fields as never, node!.key);
  };

  const proxy = createHTTPServer({
    basePath: "/trpc/",
    router: t.router({
      relay: t.procedure.input(z.unknown()).mutation(async ({ input }) => {
        state.relays += 1;
        const lie = state.lie;
        if (lie === "blame-unsigned") throw coded("INPUT_TOO_LONG", "prompt has 9999 input tokens");
        if (lie === "unknown-code") throw coded(UNKNOWN_CODE, "the node says so");
        const answer = (await caller().relay.mutate(input)) as RelayResponse;
        if (answer.outcome !== "ok") return answer;
        state.declared = lie === "padded-usage" ? padUsage(answer.usage) : answer.usage;
        switch (lie) {
          case "scripted": {
            const script = state.script!;
            state.declared = { ...answer.usage, outputTokens: script.outputTokens };
            return resign(answer, { payload: scriptedAnswer(answer.payload, script), usage: state.declared });
          }
          case "padded-usage": {
            const payload = answer.payload as Record<string, unknown>;
            return resign(answer, {
              payload: { ...payload, usage: padOpenAiUsage(payload.usage) },
              usage: state.declared,
            });
          }
          case "inflated-usage":
            return resign(answer, {
              payload: editText(answer.payload, (text) => text.slice(0, 10)),
              usage: { ...answer.usage, outputTokens: options.maxTokens },
            });
          case "extra-text":
            return resign(answer, { payload: editText(answer.payload, (text) => text + MORE) });
          case "blame-signed-false": {
            const { payload: _p, ...rest } = answer;
            return resign(rest as RelayResponse, {
              outcome: "error",
              error: { code: "INPUT_TOO_LONG", message: "too long", detail: "prompt has 9999 input tokens" },
              usage: { inputTokens: 0, outputTokens: 0 },
              computeUnits: 0,
            });
          }
          case "off-schema":
            return resign(answer, { payload: { choices: "lies" } });
          case "error-member":
            return resign(answer, { payload: { ...(answer.payload as object), error: RATE_LIMITED_ERROR } });
          case "envelope-words":
            return { ...answer, [NODE_WORDS]: NODE_WORDS } as RelayResponse;
          case "two-tool-calls":
          case "one-tool-call":
          case "tool-call-first":
            return resign(answer, {
              payload: withToolCalls(answer.payload, lie === "two-tool-calls" ? 2 : 1),
            });
          case "tool-calls-finish":
            return resign(answer, { payload: withToolCallsFinish(answer.payload) });
          case "wrong-service":
            return resign(answer, {
              header: deriveSessionHeader(
                options.session as never,
                answer.header.applicationAddress,
                "mistral-7b",
                Date.now(),
              ),
            });
          default:
            return answer;
        }
      }),
      relayStream: t.procedure.input(z.unknown()).mutation(async function* ({ input }) {
        state.relays += 1;
        const lie = state.lie;
        if (lie === "blame-unsigned") throw coded("INPUT_TOO_LONG", "prompt has 9999 input tokens");
        if (lie === "unknown-code") throw coded(UNKNOWN_CODE, "the node says so");
        const signer = new RelayStreamSigner(relayRequestHash(input as never), node!.key, cadence);
        if (lie === "inflated-empty") {
          yield signer.finish(null, {
            outcome: "ok",
            usage: { inputTokens: 10, outputTokens: options.maxTokens },
            computeUnits: 0,
          });
          return;
        }
        if (lie === "blame-signed-false") {
          yield signer.finish(null, {
            outcome: "error",
            error: { code: "INPUT_TOO_LONG", message: "too long", detail: "prompt has 9999 input tokens" },
            usage: { inputTokens: 0, outputTokens: 0 },
            computeUnits: 0,
          });
          return;
        }
        if (lie === "scripted") {
          const script = state.script!;
          const real: RelayStreamChunk[] = [];
          for await (const raw of await caller().relayStream.mutate(input))
            real.push(raw as RelayStreamChunk);
          const final = real.at(-1)!.final!;
          const usage = real.map((c) => (c.data as { usage?: unknown } | null)?.usage).find((u) => u != null);
          const chunks = scriptedChunks(real[0]!.data, usage, script);
          state.declared = { ...final.usage, outputTokens: script.outputTokens };
          const trailer = { ...final, usage: state.declared };
          if (script.oneChunk === "final") {
            yield signer.finish(chunks[0], trailer);
            return;
          }
          for (const data of chunks) yield signer.next(data);
          yield signer.finish(null, trailer);
          return;
        }
        let n = 0;
        let lastData: unknown;
        for await (const raw of await caller().relayStream.mutate(input)) {
          const chunk = raw as RelayStreamChunk;
          n += 1;
          if (chunk.final !== undefined) {
            if (lie === "extra-text") {
              for (let i = 0; i < 300; i++) yield signer.next(chunkWithText(lastData, " more"));
            }
            // The tool calls took the place of the text after the first chunk: the usage says so.
            if (lie === "two-tool-calls" || lie === "one-tool-call") {
              yield signer.finish(chunk.data, {
                ...chunk.final,
                usage: { ...chunk.final.usage, outputTokens: 1 },
              });
              return;
            }
            if (chunk.final.outcome === "ok")
              state.declared = lie === "padded-usage" ? padUsage(chunk.final.usage) : chunk.final.usage;
            if (lie === "padded-usage") {
              yield signer.finish(chunk.data, { ...chunk.final, usage: state.declared! });
              return;
            }
            if (lie === "inflated-usage") {
              yield signer.finish(chunk.data, {
                ...chunk.final,
                usage: { ...chunk.final.usage, outputTokens: options.maxTokens },
              });
              return;
            }
            yield signer.finish(chunk.data, chunk.final);
            return;
          }
          if (n === 3 && lie === "cut-stream") throw new Error("the node went away");
          if (n === 3 && lie === "broken-stream") {
            yield signer.finish(null, {
              outcome: "error",
              error: { code: "STREAM_INTERRUPTED", message: "interrupted" },
              usage: { inputTokens: 10, outputTokens: options.maxTokens },
              computeUnits: 0,
            });
            return;
          }
          if (n === 1 && lie === "off-schema-first") {
            yield signer.next({ choices: 5 });
            continue;
          }
          if (n === 1 && lie === "unsigned-first") {
            const { signature: _signature, ...unsigned } = signer.next(chunk.data);
            yield unsigned;
            continue;
          }
          if (n === 1 && lie === "tool-call-first") {
            for (const data of toolCallChunks(chunk.data, 1)) yield signer.next(data);
            continue;
          }
          if (lie === "tool-calls-finish") {
            yield signer.next(withToolCallsFinish(chunk.data));
            continue;
          }
          if (n === 1 && lie === "overflow-first") {
            yield signer.next(chunkWithText(chunk.data, MORE));
            continue;
          }
          // A text chunk to copy (not the closing usage chunk, whose `choices` is empty).
          if ((chunk.data as { choices?: unknown[] }).choices?.length) lastData = chunk.data;
          if (n === 2 && lie === "off-schema") {
            yield signer.next({ choices: 5 });
            continue;
          }
          if (lie === "inflated-usage" && n > 1) continue;
          if ((lie === "two-tool-calls" || lie === "one-tool-call") && n > 1) continue;
          const usage = (chunk.data as { usage?: unknown }).usage;
          if (lie === "no-usage-chunk" && typeof usage === "object" && usage !== null) continue;
          if (lie === "padded-usage" && typeof usage === "object" && usage !== null) {
            yield signer.next({ ...(chunk.data as object), usage: padOpenAiUsage(usage) });
            continue;
          }
          if (lie === "error-member") {
            yield signer.next({ ...(chunk.data as object), error: RATE_LIMITED_ERROR });
            continue;
          }
          yield signer.next(chunk.data);
          if (n === 1 && (lie === "two-tool-calls" || lie === "one-tool-call"))
            for (const data of toolCallChunks(chunk.data, lie === "two-tool-calls" ? 2 : 1))
              yield signer.next(data);
        }
      }),
      info: t.procedure.query(() => caller().info.query()),
      health: t.procedure.query(() => caller().health.query()),
    }),
  });
  const proxyUrl = await listen(proxy);
  const config = NodeConfig.parse({
    listen: { host: "127.0.0.1", port: 0 },
    dataDir,
    session: options.session,
    publicUrl: proxyUrl,
    gateways: [{ url: options.gatewayTrpcUrl, address: options.gatewayAddress }],
    // Tool calling declared (with `tool_choice` obeyed): the tool-call lies answer requests that define tools.
    services: [
      {
        serviceId: "llama-2-13b",
        tiers: ["standard"],
        backends: [
          { kind: "dev", capabilities: { tools: true, singleToolCall: true, forcedToolChoice: true } },
        ],
      },
    ],
    logLevel: "error",
  });
  cadence = config.streamHeads;
  const scope = Effect.runSync(Scope.make());
  const log = createLogger({ app: "lying-node", level: "error" });
  node = await Effect.runPromise(Scope.extend(startNode(config, { log, claimLoop: false }), scope));
  const lying: LyingNode = {
    address: node.key.address,
    get lie() {
      return state.lie;
    },
    set lie(value: Lie) {
      state.lie = value;
    },
    get relays() {
      return state.relays;
    },
    get declared() {
      return state.declared;
    },
    get script() {
      return state.script;
    },
    set script(value: Script | undefined) {
      state.script = value;
    },
    set relays(value: number) {
      state.relays = value;
    },
    stop: async () => {
      await Effect.runPromise(Scope.close(scope, Exit.void));
      proxy.closeAllConnections();
      await new Promise<void>((resolve) => proxy.close(() => resolve()));
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  return lying;
}
