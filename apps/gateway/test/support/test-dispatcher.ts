import { encodePng } from "@pocket-ai/png";
import {
  canonicalJson,
  chatPromptText,
  createStreamCutReceipt,
  type ErrorCode,
  generateKeyPair,
  type OpenAIRequestOf,
  packEmbedding,
  promptText,
  type RelayUsage,
  sha256Hex,
} from "@pocket-ai/protocol";
import { Effect, type Exit, Layer } from "effect";
import {
  DispatchError,
  type DispatchEvents,
  type DispatchedUnary,
  Dispatcher,
  type DispatchRequest,
  type DispatchStreamEvent,
  type RelayRecord,
} from "../../src/relay/dispatcher.js";

const WORDS = "the quick relay carries a careful answer across the pocket network to you".split(" ");

/** Knobs and a log of what was dispatched, for tests of the front door. */
export interface TestDispatcherControl {
  readonly requests: DispatchRequest[];
  /** The next dispatch fails before any node answers, with this code. */
  failNext: ErrorCode | undefined;
  /** Streams stop after this many content chunks with a STREAM_INTERRUPTED final event. */
  interruptStreamsAfter: number | undefined;
  /**
   * Streams send this many content chunks, then stall until the client leaves (to test clients
   * that leave mid-stream); `undefined`: no stall.
   */
  stallAfterChunks: number | undefined;
  /**
   * Streams send every content chunk and a chunk that finishes the choice, then stall until the
   * client leaves, before the usage chunk and the node's closing event.
   */
  stallAfterFinish: boolean;
  /**
   * The next stream's dispatch returns its events with an interruption already queued to the
   * calling fiber: it lands on the front door's next step, after the dispatch, before the stream is
   * read (as a client that leaves just as the first chunk arrives can).
   */
  interruptOnOpen: boolean;
  /** How many dispatched streams the front door has closed. */
  closedStreams: number;
  /**
   * Ends every stream stalled now as a node that stops would: a STREAM_INTERRUPTED final event
   * saying its connection closed.
   */
  cutStalled(): void;
  /**
   * Ends every stream stalled now as the dispatcher ends one whose time limit passed while its
   * client was behind (`cause: "client"`): its node is owed the call, and the stream's
   * `cutSettlement` pays it (the tier's weight for a call, whole when the client was charged whole,
   * else the share of the call that reached the client).
   */
  outpaceStalled(): void;
  /** Nodes per public model name for `availability()`. */
  availability: Map<string, { nodes: number }>;
  /** Unary chat answers carry this text (counted as one output token per word) instead of the usual words. */
  chatAnswer: string | undefined;
}

/** A stand-in for the chain of the head that covers the first `n` chunks (the test dispatcher signs nothing). */
const chainAt = (n: number) => n.toString(16).padStart(64, "0");

const countWords = (text: string) => text.split(/\s+/).filter((w) => w !== "").length;

function inputTokens(request: DispatchRequest): number {
  if (request.operation === "completions") {
    return promptText(request.body as OpenAIRequestOf<"completions">).reduce(
      (n, p) => n + ("text" in p ? countWords(p.text) : p.tokenIds.length),
      0,
    );
  }
  if (request.operation === "chat.completions") {
    return countWords(chatPromptText((request.body as OpenAIRequestOf<"chat.completions">).messages));
  }
  return 0;
}

/**
 * A Dispatcher that answers like a healthy node would — OpenAI-shaped bodies, node records with
 * session, leaf hash and usage — without a network. The real one is the routing side's layer.
 */
export function makeTestDispatcher() {
  const node = generateKeyPair().address;
  /** How to end each stalled stream: as cut by its node (see `cutStalled`), or outpaced (`outpaceStalled`). */
  const stalled = new Set<(how: "cut" | "outpaced") => void>();
  const gatewayKey = generateKeyPair();
  const control: TestDispatcherControl = {
    requests: [],
    failNext: undefined,
    interruptStreamsAfter: undefined,
    stallAfterChunks: undefined,
    stallAfterFinish: false,
    interruptOnOpen: false,
    closedStreams: 0,
    cutStalled: () => {
      for (const cut of stalled) cut("cut");
      stalled.clear();
    },
    outpaceStalled: () => {
      for (const cut of stalled) cut("outpaced");
      stalled.clear();
    },
    availability: new Map(),
    chatAnswer: undefined,
  };
  let sequence = 0;

  const record = (request: DispatchRequest, usage: RelayUsage): RelayRecord => {
    const requestHash = sha256Hex(`${canonicalJson(request.body)}#${++sequence}`);
    return {
      requestHash,
      nodeAddress: request.targetNode ?? node,
      servedServiceId: request.target.service.id,
      servedTierId: request.target.tier.id,
      sessionId: sha256Hex(`session:${request.application.address}:${request.target.service.id}`),
      sessionNumber: 1,
      leafHash: sha256Hex(`leaf:${requestHash}`),
      computeUnits: request.target.tier.computeUnitsPerRelay,
      usage,
      attempts: 1,
    };
  };

  const admit = (request: DispatchRequest) =>
    Effect.suspend(() => {
      control.requests.push(request);
      const code = control.failNext;
      control.failNext = undefined;
      return code === undefined
        ? Effect.void
        : Effect.fail(
            new DispatchError({
              code,
              detail: "test",
              attempts: 2,
              nodeAddress: "pokt1testnode",
              lastFailure: "timed out",
            }),
          );
    });

  const outputWords = (request: DispatchRequest) => {
    const max = typeof request.body.max_tokens === "number" ? request.body.max_tokens : 16;
    return WORDS.slice(0, Math.min(max, 8));
  };

  const unary = (request: DispatchRequest): Effect.Effect<DispatchedUnary, DispatchError> =>
    Effect.map(admit(request), () => {
      const created = 1_700_000_000;
      const model = request.target.modelName;
      if (request.operation === "images.generations" || request.operation === "images.edits") {
        const n = typeof request.body.n === "number" ? request.body.n : Number(request.body.n ?? 1);
        const gray = { width: 8, height: 8, data: new Uint8Array(256).fill(128) };
        const png = Buffer.from(encodePng(gray, { colorType: 0 })).toString("base64");
        const data = Array.from({ length: n }, (_, i) => ({ b64_json: png, seed: i }));
        return {
          payload: { created, data },
          record: record(request, { inputTokens: 0, outputTokens: 0, images: n }),
        };
      }
      if (request.operation === "embeddings" && request.target.kind === "embedding") {
        const inputs = (request.body.input as string[]).map(String);
        const dimensions = request.target.tier.limits.dimensions;
        // Input i's vector: unit length along axis i (so the test can tell them apart).
        const data = inputs.map((_, index) => ({
          object: "embedding",
          index,
          embedding: packEmbedding(Array.from({ length: dimensions }, (_, d) => (d === index ? 1 : 0))),
        }));
        const tokens = inputs.reduce((n, text) => n + countWords(text), 0);
        return {
          payload: { object: "list", model, data, usage: { prompt_tokens: tokens, total_tokens: tokens } },
          record: record(request, { inputTokens: tokens, outputTokens: 0 }),
        };
      }
      const answer = request.operation === "chat.completions" ? control.chatAnswer : undefined;
      const words = answer === undefined ? outputWords(request) : answer.split(" ");
      const usage = { inputTokens: inputTokens(request), outputTokens: words.length };
      const usageBody = {
        prompt_tokens: usage.inputTokens,
        completion_tokens: usage.outputTokens,
        total_tokens: usage.inputTokens + usage.outputTokens,
      };
      if (request.operation === "completions") {
        const body = request.body as OpenAIRequestOf<"completions">;
        const prompt = typeof body.prompt === "string" ? body.prompt : "";
        const tokens = [...(body.echo === true ? prompt.split(" ") : []), ...words];
        const logprobs =
          body.logprobs == null
            ? null
            : {
                tokens,
                token_logprobs: tokens.map((_, i) => (i === 0 && body.echo === true ? null : -0.5 - i / 10)),
                top_logprobs: tokens.map((t) => ({ [t]: -0.5 })),
                text_offset: tokens.map((_, i) => i),
              };
        const text = (body.echo === true ? `${prompt} ` : "") + words.join(" ");
        const choice = { index: 0, text, logprobs, finish_reason: "length" };
        const payload = {
          id: `cmpl-${sequence}`,
          object: "text_completion",
          created,
          model,
          choices: [choice],
          usage: usageBody,
        };
        return { payload, record: record(request, usage) };
      }
      const message = { role: "assistant", content: words.join(" ") };
      const choice = { index: 0, message, logprobs: null, finish_reason: "stop" };
      const payload = {
        id: `chatcmpl-${sequence}`,
        object: "chat.completion",
        created,
        model,
        choices: [choice],
        usage: usageBody,
      };
      return { payload, record: record(request, usage) };
    });

  const stream = (request: DispatchRequest, onOpened?: (events: DispatchEvents) => void) =>
    Effect.map(admit(request), () => {
      const chat = request.operation === "chat.completions";
      const words = outputWords(request);
      const cut = control.interruptStreamsAfter;
      const sent = cut === undefined ? words : words.slice(0, cut);
      const usage = { inputTokens: inputTokens(request), outputTokens: sent.length };
      const base = {
        id: `stream-${sequence}`,
        object: chat ? "chat.completion.chunk" : "text_completion",
        created: 1_700_000_000,
        // As the dispatcher passes chunks on: `model` is the public name.
        model: request.target.modelName,
      };
      // Every chunk of the test dispatcher is a signed head: each covers itself.
      const piece = (word: string, i: number): DispatchStreamEvent => ({
        type: "data",
        seq: i,
        verified: i + 1,
        chain: chainAt(i + 1),
        data: {
          ...base,
          choices: [
            chat
              ? {
                  index: 0,
                  delta: i === 0 ? { role: "assistant", content: word } : { content: ` ${word}` },
                  finish_reason: null,
                }
              : { index: 0, text: i === 0 ? word : ` ${word}`, finish_reason: null },
          ],
          usage: null,
        },
      });
      const usageChunk: DispatchStreamEvent = {
        type: "data",
        seq: sent.length,
        verified: sent.length + 1,
        chain: chainAt(sent.length + 1),
        data: {
          ...base,
          choices: [],
          usage: {
            prompt_tokens: usage.inputTokens,
            completion_tokens: usage.outputTokens,
            total_tokens: usage.inputTokens + usage.outputTokens,
          },
        },
      };
      const final: DispatchStreamEvent =
        cut === undefined
          ? {
              type: "final",
              verified: sent.length + 2,
              outcome: "ok",
              record: record(request, usage),
              ttftMs: 5,
            }
          : {
              type: "final",
              verified: sent.length,
              outcome: "error",
              error: { code: "STREAM_INTERRUPTED", message: "node went away" },
              record: record(request, usage),
              ttftMs: 5,
            };
      const finish: DispatchStreamEvent = {
        type: "data",
        seq: sent.length,
        verified: sent.length + 1,
        chain: chainAt(sent.length + 1),
        data: {
          ...base,
          choices: [
            chat
              ? { index: 0, delta: {}, finish_reason: "stop" }
              : { index: 0, text: "", finish_reason: "stop" },
          ],
          usage: null,
        },
      };
      const stallAfter = control.stallAfterFinish ? sent.length + 1 : control.stallAfterChunks;
      const events = control.stallAfterFinish
        ? [...sent.map(piece), finish]
        : [...sent.map(piece), ...(cut === undefined ? [usageChunk, final] : [final])];
      // A stall waits until the stream is closed (the client left), then ends.
      let close = () => {};
      const closed = new Promise<"closed" | "cut" | "outpaced">((resolve) => {
        close = () => resolve("closed");
      });
      let stopped = false;
      let outpaced = false;
      const cutFinal: Extract<DispatchStreamEvent, { type: "final" }> = {
        type: "final",
        verified: 0, // set to the chunks passed on when it is sent
        outcome: "error",
        error: {
          code: "STREAM_INTERRUPTED",
          message: "the connection to the node was lost",
          cause: "transport",
        },
        record: undefined,
        ttftMs: 5,
      };
      async function* run(): AsyncGenerator<DispatchStreamEvent> {
        for (const [i, event] of events.entries()) {
          if (stopped) return;
          if (stallAfter !== undefined && i >= stallAfter && i < sent.length) {
            const cut = new Promise<"cut" | "outpaced">((resolve) => stalled.add(resolve));
            const how = await Promise.race([closed, cut]);
            if (how === "cut") yield { ...cutFinal, verified: i };
            if (how === "outpaced") {
              outpaced = true;
              yield {
                ...cutFinal,
                verified: i,
                error: {
                  code: "STREAM_INTERRUPTED",
                  message: "the client did not read the stream within the tier's time limit",
                  cause: "client",
                },
              };
            }
            return;
          }
          yield event;
        }
        if (control.stallAfterFinish) await closed;
      }
      const iterator = run();
      const dispatched: DispatchEvents = {
        nodeAddress: request.targetNode ?? node,
        [Symbol.asyncIterator]: () => iterator,
        close: () => {
          if (!stopped) control.closedStreams += 1;
          stopped = true;
          close();
        },
        cutSettlement: ({ chain, usage: delivered, maxOutputTokens, whole }) => {
          if (!outpaced) return undefined;
          const paid = record(request, delivered);
          const computeUnits = whole
            ? request.target.tier.computeUnitsPerRelay
            : Math.ceil(
                (request.target.tier.computeUnitsPerRelay * delivered.outputTokens) / maxOutputTokens,
              );
          const fields = {
            nodeAddress: paid.nodeAddress,
            sessionId: paid.sessionId,
            requestHash: paid.requestHash,
            chain,
            outputTokens: delivered.outputTokens,
            computeUnits,
            issuedAt: Date.now(),
          };
          return {
            record: { ...paid, computeUnits },
            receipt: {
              receipt: createStreamCutReceipt(fields, gatewayKey),
              expiresAt: Date.now() + 3_600_000,
            },
            deliver: () => undefined,
          };
        },
      };
      onOpened?.(dispatched);
      return dispatched;
    }).pipe(
      Effect.flatMap((dispatched) => {
        if (!control.interruptOnOpen) return Effect.succeed(dispatched);
        control.interruptOnOpen = false;
        return Effect.withFiberRuntime<DispatchEvents>((fiber) => {
          fiber.unsafeInterruptAsFork(fiber.id());
          return Effect.succeed(dispatched);
        });
      }),
    );

  // The test's unary answers at once: its callback form runs it to the end there and then.
  const startUnary = (
    request: DispatchRequest,
    done: (exit: Exit.Exit<DispatchedUnary, DispatchError>) => void,
  ) => {
    done(Effect.runSyncExit(unary(request)));
    return () => {};
  };

  const layer = Layer.succeed(Dispatcher, {
    unary,
    startUnary,
    stream,
    availability: () => control.availability,
  });
  return { layer, control };
}
