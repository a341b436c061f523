import { fail, ok, type Result } from "@pocket-ai/protocol";
import { Effect } from "effect";
import type { FrontDoorDeps } from "../relay-call.js";
import type { RelaySurface } from "../serve-relay.js";
import { type MessageItemIds, responsesPresenter } from "./responses-answer.js";
import { type ItemReferenceReader, inputParamName, translateResponsesRequest } from "./responses-request.js";
import { MAX_SEALED_TEXT_BYTES, plainMessageId } from "./sealed-items.js";
import { readStreamedItem } from "./streamed-item-content.js";
import { STREAMED_MESSAGE_PREFIX } from "./streamed-items.js";

/**
 * The Responses names of the chat fields a refusal may point at. A Map: the field a refusal names
 * may be the client's own (`constructor`), which is no entry.
 */
const PARAM_NAMES: ReadonlyMap<string, string> = new Map([
  ["messages", "input"],
  ["max_tokens", "max_output_tokens"],
  ["max_completion_tokens", "max_output_tokens"],
  ["response_format", "text.format"],
]);

/**
 * A refused chat field's `param` in the Responses API's names: its top-level field renamed, the
 * rest as it is (`messages[2].content` is `input[2].content`, `response_format.type` is
 * `text.format.type`). Params are written as OpenAI's API writes them; a top-level name ends at its
 * first `.` or `[`.
 */
export function responsesParamName(param: string): string {
  const end = param.search(/[.[]/);
  const head = end === -1 ? param : param.slice(0, end);
  const renamed = PARAM_NAMES.get(head);
  return renamed === undefined ? param : renamed + param.slice(head.length);
}

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * The streamed items (`msg_pk2…`) the input refers to, read in input order until the first that
 * fails (the translation reports it where it stands); everything else is read synchronously.
 */
const readStreamedReferences = Effect.fnUntraced(function* (
  deps: FrontDoorDeps,
  raw: unknown,
  applicationId: string,
  requestId: string,
) {
  const read = new Map<string, Result<string>>();
  if (!isRecord(raw) || !Array.isArray(raw.input)) return read;
  for (const [i, item] of raw.input.entries()) {
    if (!isRecord(item) || item.type !== "item_reference" || typeof item.id !== "string") continue;
    if (!item.id.startsWith(STREAMED_MESSAGE_PREFIX) || read.has(item.id)) continue;
    const text = yield* readStreamedItem(deps, item.id, applicationId, `input[${i}].id`, requestId);
    read.set(item.id, text);
    if (!text.ok) break;
  }
  return read;
});

/**
 * What the `item_reference`s of one input may stand for, in all: no more text than a body of
 * `maxBodyBytes` could carry (a UTF-16 unit takes at least one byte of JSON), so a reference never
 * makes a conversation the client could not have sent itself. Without it, one streamed item's id
 * (87 characters) repeated through a 4 MiB body stands for gigabytes of prompt.
 */
function referencesWithin(maxChars: number, read: ItemReferenceReader): ItemReferenceReader {
  let chars = 0;
  return (id, param) => {
    const text = read(id, param);
    if (!text.ok) return text;
    chars += text.value.length;
    if (chars <= maxChars) return text;
    return fail(
      "REQUEST_TOO_LARGE",
      `the input's item_references stand for more text than one request body may carry (${maxChars} bytes, the gateway's maxBodyBytes): refer to each earlier answer once, and send fewer earlier turns`,
      param,
    );
  };
}

/**
 * `POST /v1/responses`, served on the chat relay path (`responses-request.ts` says how). Message
 * item ids are made for, and read only by, the calling application: a unary answer's carries its
 * text sealed (`sealed-items.ts`); a streamed answer's carries the key to its text, kept encrypted
 * for a limited time once the stream completes (`streamed-items.ts`), unless the request said
 * `store: false`. A unary text too long to seal into an id is kept the streamed way.
 */
export function responsesSurface(deps: FrontDoorDeps): RelaySurface {
  const seal = deps.responseItems;
  const store = deps.streamedItems;
  return {
    translate: Effect.fnUntraced(function* (
      raw: unknown,
      caller: { readonly applicationId: string },
      requestId: string,
    ) {
      const streamed = yield* readStreamedReferences(deps, raw, caller.applicationId, requestId);
      const translated = translateResponsesRequest(
        raw,
        referencesWithin(
          deps.maxBodyBytes.json,
          (id, param) => streamed.get(id) ?? seal.open(id, caller.applicationId, param),
        ),
      );
      if (!translated.ok) return translated;
      const { chat, echo, origins } = translated.value;
      const nothingKept = { id: plainMessageId(), keep: () => undefined, discard: () => undefined };
      const ids: MessageItemIds = {
        sealed: (text) => {
          if (Buffer.byteLength(text, "utf8") <= MAX_SEALED_TEXT_BYTES || !echo.store)
            return seal.seal(text, caller.applicationId);
          const item = store.announce(caller.applicationId);
          item.keep(text);
          return item.id;
        },
        streamed: () => (echo.store ? store.announce(caller.applicationId) : nothingKept),
      };
      return ok({
        body: chat,
        presenter: (model: string, createdAt: number) => responsesPresenter(echo, model, createdAt, ids),
        paramName: (param: string) => inputParamName(origins, param) ?? responsesParamName(param),
      });
    }),
    paramName: responsesParamName,
  };
}
