import {
  OutputAfterFinish,
  type RelayStreamFinal,
  StreamedChoices,
  StreamedToolCalls,
} from "@pocket-ai/protocol";
import type { Route } from "../routing/route-plan.js";
import { type AnswerRefusal, refusal } from "./answer-refusal.js";
import type { DispatchRequest } from "./dispatcher.js";
import { type AnswerLimits, answerLimits } from "./relay-envelope.js";
import {
  DeliveredText,
  echoesPrompt,
  outputOverrun,
  type RouteTokens,
  routeTokens,
  usageInflated,
} from "./route-tokens.js";
import { chunkOffSchema, overLimit, topLogprobsOverCount } from "./verify-answer.js";

/**
 * What the gateway holds against a stream's chunks as they arrive, the first one included: the
 * OpenAI shape, the request's output limit by the gateway's own count of the text so far, and the
 * trailer's claims against that text. The same checks run on the first chunk before anything
 * reaches the client (`openStream`: a lie there is retried elsewhere) and on every later chunk
 * (`streamEvents`: a lie there cuts the stream).
 *
 * @example
 * ```ts
 * const checks = new StreamChecks(route, request);
 * const lie = chunk.final === undefined ? checks.data(chunk.data) : checks.trailer(chunk.final);
 * if (lie !== undefined) return invalidAnswer(address, lie);
 * ```
 */
export class StreamChecks {
  readonly limits: AnswerLimits;
  readonly tokens: RouteTokens;
  /** The text of every data chunk checked so far. */
  readonly text = new DeliveredText();
  /** Whether the answer repeats the prompt: no overrun or inflation is read from its text. */
  readonly echoes: boolean;
  readonly #operation: DispatchRequest["operation"];
  /** The choices (0…choices-1) that delivered a chunk so far. */
  readonly #choices: StreamedChoices;
  /** The choices whose `finish_reason` came: they say no more. */
  readonly #finished = new OutputAfterFinish();
  /** Chat without tools offered, or with `parallel_tool_calls: false`: the tool calls each choice opened. */
  readonly #toolCalls: StreamedToolCalls | undefined;

  constructor(route: Route, request: DispatchRequest) {
    this.limits = answerLimits(route, request);
    this.tokens = routeTokens(route);
    this.#choices = new StreamedChoices(this.limits.choices);
    this.echoes = echoesPrompt(request);
    this.#operation = request.operation;
    const toolCalls = this.limits.toolCalls;
    this.#toolCalls = toolCalls === undefined ? undefined : new StreamedToolCalls(toolCalls);
  }

  /**
   * Why a data chunk is a lie, or `undefined`: off the operation's schema (or listing more
   * `top_logprobs` alternatives than asked), a choice outside the request's (prompts × n), a tool
   * call the request did not offer (no tools, `tool_choice: "none"`) or a second one in a choice
   * where it set `parallel_tool_calls: false`, or its
   * text takes the answer past the request's output limit (a lower bound of any count). A chunk
   * that passes is added to {@link StreamChecks.text}.
   */
  data(data: unknown): AnswerRefusal | undefined {
    const off = chunkOffSchema(this.#operation, data) ?? topLogprobsOverCount(data, this.limits.topLogprobs);
    if (off !== undefined) return off;
    const out = this.#choices.add(data);
    if (out !== undefined) return refusal("CHOICES", out);
    const late = this.#finished.add(data);
    if (late !== undefined) return refusal("OUTPUT_AFTER_FINISH", late);
    const calls = this.#toolCalls?.add(data);
    if (calls !== undefined) return calls;
    this.text.add(data);
    if (!this.echoes && this.text.lowerBound > this.limits.maxOutputTokens) {
      return refusal(
        "OUTPUT_OVER_LIMIT",
        `streamed at least ${this.text.lowerBound} output tokens; the request allowed ${this.limits.maxOutputTokens}`,
      );
    }
    return undefined;
  }

  /**
   * Why the final chunk's trailer is a lie about the text checked so far, or `undefined`: usage
   * more than that text can hold (either outcome); for `ok`, claims beyond the request's limits or
   * text past its output limit by the gateway's count, or a choice asked for that never came (a
   * batch answered in part is not paid as the whole).
   */
  trailer(final: RelayStreamFinal): AnswerRefusal | undefined {
    const inflated = this.echoes ? undefined : usageInflated(final.usage, this.text, this.limits);
    if (inflated !== undefined) return refusal("USAGE_INFLATED", inflated);
    if (final.outcome === "error") return undefined;
    if (this.#choices.seen < this.limits.choices)
      return refusal(
        "CHOICES",
        `streamed ${this.#choices.seen} of the ${this.limits.choices} choices asked for (prompts × n)`,
      );
    const over = overLimit(final.usage, final.computeUnits, this.limits);
    if (over !== undefined) return over;
    const overrun = this.echoes ? undefined : outputOverrun(this.text, this.tokens, this.limits);
    return overrun === undefined ? undefined : refusal("OUTPUT_OVER_LIMIT", overrun);
  }
}
