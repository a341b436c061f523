import { ok } from "@pocket-ai/protocol";
import type { RelaySurface } from "../serve-relay.js";
import { responsesPresenter } from "./responses-answer.js";
import { translateResponsesRequest } from "./responses-request.js";

/** The Responses names of the chat fields a refusal may point at. */
const PARAM_NAMES: Readonly<Record<string, string>> = {
  messages: "input",
  max_tokens: "max_output_tokens",
  max_completion_tokens: "max_output_tokens",
};

/** `POST /v1/responses`, served on the chat relay path (`responses-request.ts` says how). */
export const RESPONSES_SURFACE: RelaySurface = {
  translate(raw) {
    const translated = translateResponsesRequest(raw);
    if (!translated.ok) return translated;
    const { chat, echo } = translated.value;
    return ok({
      body: chat,
      presenter: (model: string, createdAt: number) => responsesPresenter(echo, model, createdAt),
    });
  },
  paramName: (param) => {
    const [head, ...rest] = param.split(".");
    const renamed = PARAM_NAMES[head ?? ""];
    return renamed === undefined ? param : [renamed, ...rest].join(".");
  },
};
