import { ok } from "@pocket-ai/protocol";
import type { RelaySurface } from "../serve-relay.js";
import { responsesPresenter } from "./responses-answer.js";
import { translateResponsesRequest } from "./responses-request.js";
import type { MessageItemSeal } from "./sealed-items.js";

/** The Responses names of the chat fields a refusal may point at. */
const PARAM_NAMES: Readonly<Record<string, string>> = {
  messages: "input",
  max_tokens: "max_output_tokens",
  max_completion_tokens: "max_output_tokens",
  response_format: "text.format",
};

/**
 * `POST /v1/responses`, served on the chat relay path (`responses-request.ts` says how). Message
 * item ids are sealed for, and opened only by, the calling application.
 */
export function responsesSurface(seal: MessageItemSeal): RelaySurface {
  return {
    translate(raw, caller) {
      const translated = translateResponsesRequest(raw, (id, param) =>
        seal.open(id, caller.applicationId, param),
      );
      if (!translated.ok) return translated;
      const { chat, echo } = translated.value;
      return ok({
        body: chat,
        presenter: (model: string, createdAt: number) =>
          responsesPresenter(echo, model, createdAt, (text) => seal.seal(text, caller.applicationId)),
      });
    },
    paramName: (param) => {
      const [head, ...rest] = param.split(".");
      const renamed = PARAM_NAMES[head ?? ""];
      return renamed === undefined ? param : [renamed, ...rest].join(".");
    },
  };
}
