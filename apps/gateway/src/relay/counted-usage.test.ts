import { describe, expect, it } from "vitest";
import { countedUsage } from "./counted-usage.js";

describe("countedUsage", () => {
  it("writes the counted totals over the node's, its details held to them and its own figures dropped", () => {
    const sent = {
      prompt_tokens: 1_012,
      completion_tokens: 14,
      total_tokens: 1_026,
      prompt_tokens_details: { cached_tokens: 1_012, audio_tokens: 0, note: "all cached", minus: -1 },
      completion_tokens_details: { reasoning_tokens: 10_000, accepted_prediction_tokens: 3 },
      billed_tokens: 99_999,
    };
    expect(countedUsage(sent, { inputTokens: 12, outputTokens: 9 })).toEqual({
      prompt_tokens: 12,
      completion_tokens: 9,
      total_tokens: 21,
      prompt_tokens_details: { cached_tokens: 12, audio_tokens: 0 },
      completion_tokens_details: { reasoning_tokens: 9, accepted_prediction_tokens: 3 },
    });
  });

  it("keeps an honest node's usage as it is", () => {
    const sent = { prompt_tokens: 12, completion_tokens: 9, total_tokens: 21, prompt_tokens_details: null };
    expect(countedUsage(sent, { inputTokens: 12, outputTokens: 9 })).toEqual(sent);
  });

  it("writes usage when the node sent none or something else", () => {
    const usage = { prompt_tokens: 3, completion_tokens: 0, total_tokens: 3 };
    expect(countedUsage(undefined, { inputTokens: 3, outputTokens: 0 })).toEqual(usage);
    expect(countedUsage("lots", { inputTokens: 3, outputTokens: 0 })).toEqual(usage);
    expect(
      countedUsage(
        { prompt_tokens_details: [5], completion_tokens_details: 7 },
        { inputTokens: 3, outputTokens: 0 },
      ),
    ).toEqual(usage);
  });

  it("writes an embeddings answer's usage without completion tokens", () => {
    expect(
      countedUsage({ prompt_tokens: 80, total_tokens: 80 }, { inputTokens: 8, outputTokens: 0 }, true),
    ).toEqual({ prompt_tokens: 8, total_tokens: 8 });
  });
});
