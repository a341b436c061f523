import { ChatCompletionResponse, CompletionResponse, toolCallsOverLimit } from "@pocket-ai/protocol";
import { Effect, Stream } from "effect";
import type { Backend, BackendCapabilities, BackendError } from "../backends/backend.js";
import { type Finding, no, type Run, yes } from "./check-finding.js";

export const PROMPT = "The capital of France is";

/** An engine refusing a request (4xx) is a "no"; one failing or timing out is an "error". */
const firstChoice = (response: Record<string, unknown>) =>
  (Array.isArray(response.choices) ? response.choices[0] : undefined) as Record<string, unknown> | undefined;

/** Prompt logprobs are real only if the echoed text is the prompt and its tokens were scored. */
function judgeEcho(response: Record<string, unknown>): Finding {
  const choice = firstChoice(response);
  const text = typeof choice?.text === "string" ? choice.text : "";
  if (!text.startsWith(PROMPT)) return no("echo ignored: the answer does not start with the prompt");
  const logprobs = choice?.logprobs as { tokens?: unknown; token_logprobs?: unknown } | null | undefined;
  const values = Array.isArray(logprobs?.token_logprobs) ? (logprobs.token_logprobs as unknown[]) : [];
  const tokens = Array.isArray(logprobs?.tokens) ? (logprobs.tokens as unknown[]) : [];
  if (values.length === 0) return no("no logprobs returned");
  const promptText = tokens.map(String).join("").slice(0, PROMPT.length);
  if (promptText !== PROMPT) return no("logprobs cover only the generated tokens");
  const scored = values.slice(1).filter((v) => typeof v === "number").length;
  if (values[0] !== null || scored === 0)
    return no("prompt tokens are not scored (expected the first null, the rest numbers)");
  return yes(`${values.length} tokens scored, the first null`);
}

function textOf(response: Record<string, unknown>): string | undefined {
  const choice = firstChoice(response);
  if (typeof choice?.text === "string") return choice.text;
  const message = choice?.message as { content?: unknown } | undefined;
  return typeof message?.content === "string" ? message.content : undefined;
}

export function probeText(declared: BackendCapabilities, backend: Backend, model: string, run: Run) {
  return Effect.gen(function* () {
    const completion = (extra: Record<string, unknown>) =>
      backend.completions({ model, prompt: PROMPT, max_tokens: 4, temperature: 0, ...extra });
    const chat = (extra: Record<string, unknown>) =>
      backend.chatCompletions({
        model,
        messages: [{ role: "user", content: "Say hello." }],
        max_tokens: 4,
        ...extra,
      });
    // The gateway checks every answer against the protocol's schema (after the same finish_reason
    // normalisation the adapters apply): an answer that fails here would be refused there.
    const answered =
      (schema: typeof CompletionResponse | typeof ChatCompletionResponse) =>
      (response: Record<string, unknown>) => {
        const parsed = schema.safeParse(response);
        if (!parsed.success) {
          const issue = parsed.error.issues[0];
          return no(
            `answer off the OpenAI schema at ${issue?.path.join(".") ?? "?"}: ${issue?.message ?? ""}`,
          );
        }
        return textOf(response) === undefined
          ? no("answer has no text")
          : yes(`usage: ${JSON.stringify(response.usage ?? null)}`);
      };

    // Later checks use the completions route when it works, else chat (TGI).
    const completionsWork =
      (yield* run(
        "completions",
        declared.completions,
        Effect.map(completion({}), answered(CompletionResponse)),
      )) === "yes";
    // A chat that offers no tools must get no tool call: the node refuses to sign such an answer
    // (`ENGINE_ANSWER_REFUSED`), so an engine that makes one (a chat template or tool parser that
    // invents calls) would fail its customers' chats. Said here, before any traffic.
    yield* run(
      "chat",
      declared.chat,
      Effect.map(chat({}), (response) => {
        const invented = toolCallsOverLimit(response, { most: 0, why: "no tools" });
        return invented === undefined
          ? answered(ChatCompletionResponse)(response)
          : no(
              `a chat that offered no tools got a tool call (${invented.detail}): the node refuses such answers; check the engine's chat template and tool-call parser`,
            );
      }),
    );
    yield* run(
      "prompt logprobs (echo)",
      declared.promptLogprobs,
      Effect.map(completion({ max_tokens: 1, echo: true, logprobs: 1 }), judgeEcho),
    );
    const logprobs = completionsWork
      ? Effect.map(completion({ max_tokens: 2, logprobs: 1 }), (response) => {
          const values = (firstChoice(response)?.logprobs as { token_logprobs?: unknown } | null)
            ?.token_logprobs;
          return Array.isArray(values) && values.some((v) => typeof v === "number")
            ? yes("completion token logprobs")
            : no("no logprobs returned");
        })
      : Effect.map(chat({ logprobs: true, top_logprobs: 1 }), (response) => {
          const content = (firstChoice(response)?.logprobs as { content?: unknown } | null)?.content;
          return Array.isArray(content) && content.length > 0
            ? yes("chat token logprobs")
            : no("no logprobs returned");
        });
    yield* run("logprobs", declared.logprobs, logprobs);
    const sample = (completionsWork ? completion : chat)({ max_tokens: 8, temperature: 1, seed: 1234 });
    yield* run(
      "seed",
      declared.seed,
      Effect.map(Effect.all([sample, sample]), ([a, b]) =>
        textOf(a) === textOf(b) ? yes("same seed, same text") : no("same seed gave different text"),
      ),
    );
    const operation = completionsWork ? "completions" : "chat.completions";
    const body = completionsWork
      ? { model, prompt: PROMPT, max_tokens: 4 }
      : { model, messages: [{ role: "user", content: "Say hello." }], max_tokens: 4 };
    yield* run(
      "streaming",
      declared.streaming,
      Effect.map(Stream.runCollect(backend.stream(operation, body)), (chunk) => {
        const pieces = Array.from(chunk);
        const usage = pieces.some((piece) => piece.usage !== undefined && piece.usage !== null);
        return pieces.length > 0
          ? yes(`${pieces.length} pieces${usage ? ", usage included" : ", no usage piece"}`)
          : no("empty stream");
      }),
    );
    yield* run(
      "tokenize",
      declared.tokenize,
      Effect.map(backend.tokenize(PROMPT), (count) => yes(`${count} tokens`)),
    );
    const several = (completionsWork ? completion : chat)({ max_tokens: 4, temperature: 1, seed: 7, n: 2 });
    yield* run(
      "n",
      declared.n,
      Effect.map(several, (response) => {
        const choices = Array.isArray(response.choices) ? (response.choices as { index?: unknown }[]) : [];
        if (choices.length === 2 && choices[0]?.index === 0 && choices[1]?.index === 1)
          return yes("n=2 gave two choices");
        return no(`asked n=2, got ${choices.length} choice${choices.length === 1 ? "" : "s"}: n is ignored`);
      }),
    );
    const toolDefinition = (name: string, description: string) => ({
      type: "function",
      function: { name, description, parameters: { type: "object", properties: {} } },
    });
    const toolCalls = (response: Record<string, unknown>) => {
      const message = firstChoice(response)?.message as { tool_calls?: unknown } | undefined;
      return Array.isArray(message?.tool_calls)
        ? (message.tool_calls as { function?: { name?: unknown } }[])
        : [];
    };
    // Tools: offered one tool and asked to use it, the engine calls it (a tool-capable model does;
    // an engine without tool support answers in prose), and it answers a tool-result turn.
    const toolsWork = yield* run(
      "tools",
      declared.tools,
      Effect.map(
        Effect.all([
          chat({
            messages: [{ role: "user", content: "What time is it? Use the tool." }],
            max_tokens: 32,
            tools: [toolDefinition(PROBE_TOOL, "The current time.")],
            tool_choice: "auto",
          }),
          chat({
            messages: [
              { role: "user", content: "What time is it?" },
              {
                role: "assistant",
                content: null,
                tool_calls: [
                  { id: "call-probe-1", type: "function", function: { name: PROBE_TOOL, arguments: "{}" } },
                ],
              },
              { role: "tool", tool_call_id: "call-probe-1", content: "12:00" },
            ],
            max_tokens: 16,
            tools: [toolDefinition(PROBE_TOOL, "The current time.")],
          }),
        ]),
        ([first, afterResult]) => {
          const calls = toolCalls(first);
          if (calls.length === 0)
            return no("offered a tool and asked to use it, the answer is prose without a tool call");
          if (calls.some((call) => call.function?.name !== PROBE_TOOL))
            return no("a tool call names a tool that was not offered");
          if (firstChoice(afterResult) === undefined) return no("a tool-result turn got no answer");
          return yes("called the offered tool; a tool-result turn answered");
        },
      ),
    );
    // A forced choice: two tools, the second one named; an engine that ignores `tool_choice`
    // answers in prose or calls whatever it likes.
    yield* run(
      "forced tool choice",
      declared.forcedToolChoice,
      Effect.map(
        chat({
          messages: [{ role: "user", content: "What time is it?" }],
          max_tokens: 32,
          tools: [
            toolDefinition(PROBE_TOOL, "The current time."),
            toolDefinition(PROBE_FORCED_TOOL, "The weather."),
          ],
          tool_choice: { type: "function", function: { name: PROBE_FORCED_TOOL } },
        }),
        (response) => {
          const calls = toolCalls(response);
          if (calls.some((call) => call.function?.name === PROBE_FORCED_TOOL))
            return yes("the forced tool was called");
          return calls.length > 0
            ? no("a tool call, but not to the forced tool")
            : no("a forced tool_choice came back as text, without a tool call");
        },
      ),
    );
    // At most one tool call: two tools, a prompt that asks for both, `parallel_tool_calls: false`;
    // an engine that ignores the field calls both. Probed only where the engine calls tools at all:
    // elsewhere the field changes nothing a gateway could route.
    if (toolsWork === "yes")
      yield* run(
        "single tool call",
        declared.singleToolCall,
        Effect.map(
          chat({
            messages: [
              { role: "user", content: "What time is it, and what is the weather? Use both tools." },
            ],
            max_tokens: 64,
            tools: [
              toolDefinition(PROBE_TOOL, "The current time."),
              toolDefinition(PROBE_FORCED_TOOL, "The weather."),
            ],
            parallel_tool_calls: false,
          }),
          (response) => {
            const calls = toolCalls(response).length;
            if (calls === 1) return yes("asked for both tools with parallel_tool_calls: false, one call");
            return calls === 0
              ? no("asked for both tools, the answer made no tool call: nothing shows the field is obeyed")
              : no(`parallel_tool_calls: false ignored: ${calls} tool calls in one answer`);
          },
        ),
      );
    yield* run(
      "token-id prompts",
      declared.tokenPrompts,
      Effect.map(
        backend.completions({ model, prompt: [15, 16, 17], max_tokens: 2, temperature: 0 }),
        (response) =>
          typeof firstChoice(response)?.text === "string"
            ? yes("a prompt of token ids answered")
            : no("a prompt of token ids got no text"),
      ),
    );
    const json = (responseFormat: Record<string, unknown>) =>
      chat({
        messages: [{ role: "user", content: 'Answer in JSON: {"answer": "the capital of France"}.' }],
        max_tokens: 48,
        temperature: 0,
        response_format: responseFormat,
      });
    yield* run(
      "JSON mode",
      declared.jsonMode,
      Effect.map(json({ type: "json_object" }), (response) => {
        const value = parsedObject(textOf(response));
        return value === undefined
          ? no("response_format json_object ignored: the answer is not a JSON object")
          : yes("the answer is a JSON object");
      }),
    );
    yield* run(
      "JSON schema",
      declared.jsonSchema,
      Effect.map(
        json({
          type: "json_schema",
          json_schema: {
            name: "probe",
            strict: true,
            schema: {
              type: "object",
              properties: { answer: { type: "string" } },
              required: ["answer"],
              additionalProperties: false,
            },
          },
        }),
        (response) => {
          const value = parsedObject(textOf(response));
          if (value === undefined)
            return no("response_format json_schema ignored: the answer is not a JSON object");
          return typeof value.answer === "string"
            ? yes("the answer follows the schema")
            : no("a JSON object without the schema's required `answer` string");
        },
      ),
    );
    yield* probeEmbeddings(declared, backend, model, run);
  });
}

const PROBE_TOOL = "current_time";
const PROBE_FORCED_TOOL = "current_weather";

/** The text as a JSON object (surrounding whitespace allowed), or undefined. */
function parsedObject(text: string | undefined): Record<string, unknown> | undefined {
  if (text === undefined) return undefined;
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === "object" && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/** `/v1/embeddings` for two short inputs: one float vector each, of the same length. */
export function probeEmbeddings(declared: BackendCapabilities, backend: Backend, model: string, run: Run) {
  const { embeddings } = backend;
  const probe: Effect.Effect<Finding, BackendError> =
    embeddings === undefined
      ? Effect.succeed(no("this backend has no embeddings route"))
      : Effect.map(embeddings({ model, input: [PROMPT, "Paris"] }), (response) => {
          const data = Array.isArray(response.data) ? (response.data as { embedding?: unknown }[]) : [];
          const vectors = data.map((item) => item.embedding);
          const valid = vectors.every(
            (v) =>
              Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === "number" && Number.isFinite(x)),
          );
          const sizes = new Set(vectors.map((v) => (Array.isArray(v) ? v.length : 0)));
          if (vectors.length !== 2 || !valid || sizes.size !== 1)
            return no("the answer does not hold one float vector per input");
          return yes(`${[...sizes][0]} dimensions`);
        });
  return Effect.asVoid(run("embeddings", declared.embeddings, probe));
}
