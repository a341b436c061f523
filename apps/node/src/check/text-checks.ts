import { ChatCompletionResponse, CompletionResponse } from "@pocket-ai/protocol";
import { Effect, Stream } from "effect";
import type { Backend, BackendCapabilities } from "../backends/backend.js";
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
    yield* run("chat", declared.chat, Effect.map(chat({}), answered(ChatCompletionResponse)));
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
  });
}
