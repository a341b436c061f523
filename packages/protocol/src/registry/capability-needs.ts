import { imageEditMode } from "../openai/image-requests.js";
import type { NodeCapabilities } from "./node-service-offer.js";

/** A text capability a request needs (a boolean flag of {@link NodeCapabilities}). */
export type TextCapability = Exclude<keyof NodeCapabilities, "images">;

/** One thing a request needs from a node's backend, and the request field that asks for it. */
export interface CapabilityNeed {
  readonly capability:
    | TextCapability
    | "images.generate"
    | "images.img2img"
    | "images.inpaint"
    | "images.outpaint";
  /** The request field that needs it (the error's `param`). */
  readonly param: string;
  /** What the field asks for, in words, for error messages. */
  readonly what: string;
}

/** A request body as the client sent it (parsed JSON). */
export type RequestBody = Readonly<Record<string, unknown>>;
const isRecord = (v: unknown): v is RequestBody => typeof v === "object" && v !== null && !Array.isArray(v);
const many = (v: unknown) => typeof v === "number" && v > 1;

/** Whether a completions prompt holds token ids rather than text. */
function tokenPrompt(prompt: unknown): boolean {
  if (!Array.isArray(prompt)) return false;
  return prompt.some((p) => typeof p === "number" || Array.isArray(p));
}

/** Whether a chat request forces a tool call: `tool_choice` naming a function, or `"required"`. */
/** A `logit_bias` that biases any token (an empty one changes nothing). */
const biases = (body: RequestBody) => isRecord(body.logit_bias) && Object.keys(body.logit_bias).length > 0;

function forcesTool(body: RequestBody): boolean {
  const choice = body.tool_choice;
  return isRecord(choice) || choice === "required";
}

/** Whether a chat request uses tools: definitions, a forced choice, or tool calls and results in its turns. */
function usesTools(body: RequestBody): string | undefined {
  if (Array.isArray(body.tools) && body.tools.length > 0) return "tools";
  if (Array.isArray(body.functions) && body.functions.length > 0) return "functions";
  if (forcesTool(body)) return "tool_choice";
  const messages = Array.isArray(body.messages) ? body.messages : [];
  const turns = messages.some(
    (m) =>
      isRecord(m) &&
      (m.role === "tool" ||
        m.role === "function" ||
        (Array.isArray(m.tool_calls) && m.tool_calls.length > 0) ||
        m.function_call !== undefined),
  );
  return turns ? "messages" : undefined;
}

/**
 * What a request needs from a node's backend beyond the operation itself: streaming, several
 * choices, prompt or token logprobs, token-id prompts, a completion's suffix, tools, JSON output,
 * each image operation (`parallel_tool_calls: false` with tools needs `singleToolCall`).
 * Gateways route a request only to nodes that have every need (`missingCapability`), and answer
 * `NO_CAPABLE_NODE` naming the first unmet one when none has; nodes refuse the same requests with
 * `UNSUPPORTED_PARAMETER`. A need is never dropped silently.
 *
 * @example
 * ```ts
 * capabilityNeeds("chat.completions", { messages: [], n: 3, response_format: { type: "json_object" } }, false);
 * // [{ capability: "chat", … }, { capability: "n", param: "n", … }, { capability: "jsonMode", param: "response_format", … }]
 * ```
 */
export function capabilityNeeds(operation: string, body: RequestBody, stream: boolean): CapabilityNeed[] {
  const needs: CapabilityNeed[] = [];
  const need = (capability: CapabilityNeed["capability"], param: string, what: string) =>
    needs.push({ capability, param, what });
  if (stream) need("streaming", "stream", "streaming");
  switch (operation) {
    case "completions": {
      need("completions", "prompt", "text completions");
      const logprobs = body.logprobs !== undefined && body.logprobs !== null;
      // Engines that cannot score the prompt (llama.cpp server, Ollama, TGI) also drop `echo`
      // itself, so an echo without logprobs needs the same capability: never a prompt left out.
      if (body.echo === true)
        need(
          "promptLogprobs",
          "echo",
          logprobs ? "prompt logprobs (echo with logprobs)" : "echo (the prompt returned before the answer)",
        );
      else if (logprobs) need("logprobs", "logprobs", "token logprobs");
      if (tokenPrompt(body.prompt)) need("tokenPrompts", "prompt", "prompts as token ids");
      if (biases(body)) need("logitBias", "logit_bias", "token biases (logit_bias)");
      // An empty suffix asks for nothing (OpenAI's default), and is not relayed.
      if (typeof body.suffix === "string" && body.suffix !== "")
        need("suffix", "suffix", "fill-in-the-middle (suffix)");
      if (many(body.n) || many(body.best_of)) need("n", "n", "several choices (n above 1)");
      break;
    }
    case "chat.completions": {
      need("chat", "messages", "chat completions");
      if (body.logprobs === true || typeof body.top_logprobs === "number")
        need("logprobs", "logprobs", "token logprobs");
      if (many(body.n)) need("n", "n", "several choices (n above 1)");
      if (biases(body)) need("logitBias", "logit_bias", "token biases (logit_bias)");
      const tools = usesTools(body);
      if (tools !== undefined) need("tools", tools, "tool calling");
      if (forcesTool(body)) need("forcedToolChoice", "tool_choice", "a forced tool call (tool_choice)");
      // Only tools the model may call can make a second call; OpenAI's default allows several.
      if (body.parallel_tool_calls === false && (tools === "tools" || tools === "functions"))
        need("singleToolCall", "parallel_tool_calls", "at most one tool call (parallel_tool_calls: false)");
      const format = isRecord(body.response_format) ? body.response_format.type : undefined;
      if (format === "json_object") need("jsonMode", "response_format", "JSON mode (json_object)");
      if (format === "json_schema") need("jsonSchema", "response_format", "structured output (json_schema)");
      break;
    }
    case "embeddings":
      need("embeddings", "input", "embeddings");
      break;
    case "images.generations":
      need("images.generate", "prompt", "image generation");
      break;
    case "images.edits": {
      const mode = imageEditMode(body as Parameters<typeof imageEditMode>[0]);
      const capability =
        mode === "outpainting"
          ? "images.outpaint"
          : mode === "inpainting"
            ? "images.inpaint"
            : "images.img2img";
      need(capability, mode === "outpainting" ? "padding" : mode === "inpainting" ? "mask" : "image", mode);
      break;
    }
  }
  return needs;
}

/**
 * The first need a node's capabilities do not cover, or `undefined` when it can serve the request.
 * Optional flags an older node did not announce count as not supported.
 *
 * @example
 * ```ts
 * missingCapability({ completions: true, chat: true, streaming: true, promptLogprobs: false,
 *   logprobs: true, seed: true, tokenize: true, images: null }, [{ capability: "n", param: "n", what: "n" }]);
 * // { capability: "n", param: "n", what: "n" }
 * ```
 */
export function missingCapability(
  capabilities: NodeCapabilities,
  needs: readonly CapabilityNeed[],
): CapabilityNeed | undefined {
  return needs.find((need) => {
    if (need.capability.startsWith("images.")) {
      const op = need.capability.slice("images.".length) as keyof NonNullable<NodeCapabilities["images"]>;
      return capabilities.images?.[op] !== true;
    }
    return capabilities[need.capability as TextCapability] !== true;
  });
}
