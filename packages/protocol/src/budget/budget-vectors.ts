import type { ErrorCode } from "../errors/codes.js";

/**
 * One test vector of the budget rule: a text request to a public model name and what
 * `relayBudget` gives for it with the `tokensAtLeast` counter — either the counts or the error
 * code. A third-party gateway or node checks that its budget agrees by running each vector with
 * the same counter.
 *
 * @example
 * ```ts
 * for (const v of RELAY_BUDGET_VECTORS) console.log(v.name, v.expected);
 * ```
 */
export interface RelayBudgetVector {
  readonly name: string;
  readonly model: string;
  readonly operation: "completions" | "chat.completions";
  readonly request: Readonly<Record<string, unknown>>;
  readonly expected:
    | {
        readonly promptTokens: readonly number[];
        readonly inputTokens: number;
        readonly choices: number;
        readonly maxTokens: number;
        readonly maxOutputTokens: number;
      }
    | { readonly error: ErrorCode };
}

const words = (n: number) => Array.from({ length: n }, (_, i) => `w${i}`).join(" ");

/**
 * The budget rule's test vectors on the default catalog's `llama-2-13b` tiers (200 input tokens
 * per prompt, 1000 output tokens per call), counted with `tokensAtLeast` (white-space words).
 *
 * @example
 * ```ts
 * const batch = RELAY_BUDGET_VECTORS.find((v) => v.name === "completions batch of 3, each under the limit");
 * ```
 */
export const RELAY_BUDGET_VECTORS: readonly RelayBudgetVector[] = [
  {
    name: "one completion prompt",
    model: "llama-2-13b",
    operation: "completions",
    request: { model: "llama-2-13b", prompt: "The capital of France is", max_tokens: 8 },
    expected: { promptTokens: [5], inputTokens: 5, choices: 1, maxTokens: 8, maxOutputTokens: 8 },
  },
  {
    name: "completions batch of 3, each under the limit",
    model: "llama-2-13b",
    operation: "completions",
    request: { model: "llama-2-13b", prompt: [words(150), words(150), words(150)], max_tokens: 4 },
    expected: {
      promptTokens: [150, 150, 150],
      inputTokens: 450,
      choices: 3,
      maxTokens: 4,
      maxOutputTokens: 12,
    },
  },
  {
    name: "token-id batch with n, max_tokens clamped",
    model: "llama-2-13b:batch",
    operation: "completions",
    request: {
      model: "llama-2-13b:batch",
      prompt: [
        [1, 2, 3],
        [4, 5],
      ],
      n: 2,
      max_tokens: 400,
    },
    expected: { promptTokens: [3, 2], inputTokens: 5, choices: 4, maxTokens: 250, maxOutputTokens: 1000 },
  },
  {
    name: "completion with a suffix counted in the prompt",
    model: "llama-2-13b",
    operation: "completions",
    request: { model: "llama-2-13b", prompt: "def area(r):", suffix: "return result", max_tokens: 16 },
    expected: { promptTokens: [4], inputTokens: 4, choices: 1, maxTokens: 16, maxOutputTokens: 16 },
  },
  {
    name: "completions batch with one prompt over the limit",
    model: "llama-2-13b",
    operation: "completions",
    request: { model: "llama-2-13b", prompt: ["short", words(201)], max_tokens: 4 },
    expected: { error: "INPUT_TOO_LONG" },
  },
  {
    name: "chat with n and max_completion_tokens clamped",
    model: "llama-2-13b",
    operation: "chat.completions",
    request: {
      model: "llama-2-13b",
      messages: [
        { role: "system", content: "Be brief." },
        { role: "user", content: [{ type: "text", text: "Who won in 2020?" }] },
      ],
      max_completion_tokens: 2000,
      n: 2,
    },
    expected: { promptTokens: [8], inputTokens: 8, choices: 2, maxTokens: 500, maxOutputTokens: 1000 },
  },
  {
    name: "chat with tool and response schemas counted",
    model: "llama-2-13b",
    operation: "chat.completions",
    request: {
      model: "llama-2-13b",
      messages: [{ role: "user", content: "Weather in Paris?" }],
      tools: [
        {
          type: "function",
          function: { name: "weather", description: "Looks up the weather in a city", parameters: {} },
        },
      ],
      response_format: {
        type: "json_schema",
        json_schema: { name: "answer", description: "a short answer" },
      },
      max_tokens: 50,
    },
    expected: { promptTokens: [14], inputTokens: 14, choices: 1, maxTokens: 50, maxOutputTokens: 50 },
  },
  {
    name: "chat pushed over the input limit by its tools schema",
    model: "llama-2-13b",
    operation: "chat.completions",
    request: {
      model: "llama-2-13b",
      messages: [{ role: "user", content: words(150) }],
      tools: [{ type: "function", function: { name: "f", description: words(60) } }],
      max_tokens: 50,
    },
    expected: { error: "INPUT_TOO_LONG" },
  },
  {
    name: "completions batch of 2048 prompts × n=2 scoring with max_tokens 0: 4096 choices, the most one call takes",
    model: "llama-2-13b",
    operation: "completions",
    request: {
      model: "llama-2-13b",
      prompt: Array.from({ length: 2048 }, () => "a"),
      n: 2,
      max_tokens: 0,
      echo: true,
    },
    expected: {
      promptTokens: Array.from({ length: 2048 }, () => 1),
      inputTokens: 2048,
      choices: 4096,
      maxTokens: 0,
      maxOutputTokens: 0,
    },
  },
  {
    name: "completions batch of 2049 prompts × n=2: past the choices one call takes",
    model: "llama-2-13b",
    operation: "completions",
    request: {
      model: "llama-2-13b",
      prompt: Array.from({ length: 2049 }, () => "a"),
      n: 2,
      max_tokens: 0,
      echo: true,
    },
    expected: { error: "INVALID_REQUEST" },
  },
  {
    name: "a streamed completion with echo: scoring is offered unary, where the whole call is billed",
    model: "llama-2-13b",
    operation: "completions",
    request: { model: "llama-2-13b", prompt: "Hello", max_tokens: 0, echo: true, logprobs: 1, stream: true },
    expected: { error: "UNSUPPORTED_PARAMETER" },
  },
  {
    name: "completions with max_tokens 0 and no echo: no output asked for and no prompt to score",
    model: "llama-2-13b",
    operation: "completions",
    request: { model: "llama-2-13b", prompt: "Hello", max_tokens: 0 },
    expected: { error: "INVALID_REQUEST" },
  },
  {
    name: "chat with max_tokens 0: a chat completion answers at least one token",
    model: "llama-2-13b",
    operation: "chat.completions",
    request: { model: "llama-2-13b", messages: [{ role: "user", content: "Hi" }], max_tokens: 0 },
    expected: { error: "INVALID_REQUEST" },
  },
];
