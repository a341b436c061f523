import { z } from "zod";
import type { ChatOutcome, CompletionOutcome, ImagesOutcome, TokenLogprobs } from "./probe-transport.js";

/**
 * Reading OpenAI-shaped bodies defensively: a node may answer anything, so every field is
 * validated and a malformed body is a failed probe, not a crash or a silently wrong score.
 */

const LegacyLogprobs = z
  .looseObject({
    tokens: z.array(z.string()),
    token_logprobs: z.array(z.number().nullable()),
    text_offset: z.array(z.number()),
  })
  .nullish();

const CompletionBody = z.looseObject({
  choices: z
    .array(
      z.looseObject({
        text: z.string(),
        logprobs: LegacyLogprobs,
        finish_reason: z.string().nullish(),
      }),
    )
    .min(1),
  usage: z.looseObject({ completion_tokens: z.number() }).nullish(),
});

const ChatBody = z.looseObject({
  choices: z.array(z.looseObject({ message: z.looseObject({ content: z.string().nullish() }) })).min(1),
  usage: z.looseObject({ completion_tokens: z.number() }).nullish(),
});

const ImagesBody = z.looseObject({ data: z.array(z.looseObject({ b64_json: z.string() })) });

function parse<S extends z.ZodType>(schema: S, raw: unknown, what: string): z.output<S> {
  const parsed = schema.safeParse(raw);
  if (!parsed.success) throw new Error(`malformed ${what} body: ${parsed.error.issues[0]?.message ?? ""}`);
  return parsed.data;
}

export function toTokenLogprobs(raw: z.infer<typeof LegacyLogprobs>): TokenLogprobs | null {
  if (raw === null || raw === undefined) return null;
  return { tokens: raw.tokens, tokenLogprobs: raw.token_logprobs, textOffset: raw.text_offset };
}

export function readCompletionBody(raw: unknown, totalMs: number): CompletionOutcome {
  const body = parse(CompletionBody, raw, "completion");
  const choice = body.choices[0]!;
  return {
    text: choice.text,
    logprobs: toTokenLogprobs(choice.logprobs),
    completionTokens: body.usage?.completion_tokens ?? null,
    finishReason: choice.finish_reason ?? null,
    timing: { totalMs, ttftMs: null },
  };
}

export function readChatBody(raw: unknown, totalMs: number): ChatOutcome {
  const body = parse(ChatBody, raw, "chat completion");
  return {
    content: body.choices[0]?.message.content ?? "",
    completionTokens: body.usage?.completion_tokens ?? null,
    timing: { totalMs, ttftMs: null },
  };
}

export function readImagesBody(raw: unknown, totalMs: number): ImagesOutcome {
  const body = parse(ImagesBody, raw, "images");
  return {
    images: body.data.map((d) => new Uint8Array(Buffer.from(d.b64_json, "base64"))),
    timing: { totalMs, ttftMs: null },
  };
}
