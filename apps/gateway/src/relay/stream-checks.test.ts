import { describe, expect, it } from "vitest";
import { testDispatch, testRoute } from "../../test/support/relay-route.js";
import { StreamChecks } from "./stream-checks.js";

const route = testRoute(1_000_005_000);
/** Two prompts, two samples each: four choices, numbered 0…3. */
const request = testDispatch({ prompt: ["One", "Two"], n: 2, max_tokens: 8 });
const chunk = (index: number, text: string, finish: string | null = null) => ({
  id: "cmpl-1",
  object: "text_completion",
  created: 1_700_000_000,
  model: "m",
  choices: [{ index, text, logprobs: null, finish_reason: finish }],
});
const trailer = (outputTokens: number) => ({
  outcome: "ok" as const,
  usage: { inputTokens: 2, outputTokens },
  computeUnits: 1,
});

describe("a stream's choices against the request's prompts × n", () => {
  it("accepts every choice streamed, in any order, and ends clean", () => {
    const checks = new StreamChecks(route, request);
    for (const index of [2, 0, 3, 1]) expect(checks.data(chunk(index, " word", "stop"))).toBeUndefined();
    expect(checks.trailer(trailer(4))).toBeUndefined();
  });

  it("cuts a chunk of a choice the request did not ask for", () => {
    const checks = new StreamChecks(route, request);
    expect(checks.data(chunk(0, " word"))).toBeUndefined();
    expect(checks.data(chunk(4, " word"))).toEqual({
      reason: "CHOICES",
      detail: "streams a choice numbered 4; choices are numbered 0 to 3",
    });
  });

  it("cuts output for a choice after its finish_reason (a client stopping at the finish would pay for more)", () => {
    const checks = new StreamChecks(route, request);
    expect(checks.data(chunk(0, " word", "stop"))).toBeUndefined();
    // Another choice goes on; an empty piece for the finished one carries nothing.
    expect(checks.data(chunk(1, " word"))).toBeUndefined();
    expect(checks.data(chunk(0, ""))).toBeUndefined();
    expect(checks.data(chunk(0, " more"))).toEqual({
      reason: "OUTPUT_AFTER_FINISH",
      detail: "choice 0 streamed output after its finish_reason",
    });
  });

  it("refuses a clean end before every choice came (a batch answered in part)", () => {
    const checks = new StreamChecks(route, request);
    expect(checks.data(chunk(0, " word", "stop"))).toBeUndefined();
    expect(checks.data(chunk(1, " word", "stop"))).toBeUndefined();
    expect(checks.trailer(trailer(2))).toEqual({
      reason: "CHOICES",
      detail: "streamed 2 of the 4 choices asked for (prompts × n)",
    });
    // A stream that ends in an error pays for what came: its missing choices are not a lie.
    expect(checks.trailer({ ...trailer(2), outcome: "error" as const })).toBeUndefined();
  });
});

describe("a chat stream's logprobs against the request's top_logprobs", () => {
  const chat = testDispatch(
    { messages: [{ role: "user", content: "Hi" }], max_tokens: 8, logprobs: true, top_logprobs: 1 },
    "chat.completions",
  );
  const piece = (alternatives: number) => ({
    id: "chatcmpl-1",
    object: "chat.completion.chunk",
    created: 1_700_000_000,
    model: "m",
    choices: [
      {
        index: 0,
        delta: { content: "Hi" },
        logprobs: {
          content: [
            {
              token: "Hi",
              logprob: -0.1,
              bytes: [72, 105],
              top_logprobs: Array.from({ length: alternatives }, (_, i) => ({
                token: `H${i}`,
                logprob: -1 - i,
                bytes: [72, 48 + i],
              })),
            },
          ],
        },
        finish_reason: null,
      },
    ],
  });

  it("takes up to top_logprobs alternatives per token and cuts a chunk listing more", () => {
    const checks = new StreamChecks(route, chat);
    expect(checks.data(piece(1))).toBeUndefined();
    expect(checks.data(piece(0))).toBeUndefined();
    expect(checks.data(piece(2))).toEqual({
      reason: "TOP_LOGPROBS",
      detail: "choice 0 lists 2 top_logprobs for a token; the request asked for 1",
    });
  });
});
