import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { DeliveredTally } from "./delivered-tally.js";

const budget = { inputTokens: 7, maxOutputTokens: 50 };
const chatDelta = (content: string, index = 0, finish: string | null = null) => ({
  choices: [{ index, delta: { content }, finish_reason: finish }],
});

describe("DeliveredTally", () => {
  it("counts a cut stream by the text pieces received, per choice, with the budget's input", () => {
    const tally = new DeliveredTally(budget);
    tally.add({ choices: [{ index: 0, delta: { role: "assistant", content: "" } }] });
    tally.add(chatDelta("Hel"));
    tally.add(chatDelta("lo", 1));
    tally.add({
      choices: [
        { index: 0, text: "!" },
        { index: 1, text: "?", finish_reason: "stop" },
      ],
    });
    expect(tally.pieces).toEqual([2, 2]);
    expect(tally.finishReasons).toEqual([null, "stop"]);
    expect(tally.chunks).toBe(4);
    expect(tally.usage()).toEqual({ inputTokens: 7, outputTokens: 4 });
  });

  it("counts tool-call and refusal deltas as pieces", () => {
    const tally = new DeliveredTally(budget);
    tally.add({
      choices: [
        {
          index: 0,
          delta: { tool_calls: [{ index: 0, function: { name: "lookup", arguments: "" } }] },
        },
      ],
    });
    tally.add({
      choices: [{ index: 0, delta: { tool_calls: [{ index: 0, function: { arguments: '{"q"' } }] } }],
    });
    tally.add({ choices: [{ index: 0, delta: { refusal: "No." } }] });
    expect(tally.outputTokens).toBe(3);
  });

  it("uses the reported usage only for an answer delivered whole", () => {
    const tally = new DeliveredTally(budget);
    tally.add(chatDelta("a"));
    tally.add({ choices: [], usage: { prompt_tokens: 99, completion_tokens: 12 } });
    expect(tally.outputTokens).toBe(1);
    tally.complete();
    expect(tally.usage()).toEqual({ inputTokens: 7, outputTokens: 12 });
  });

  it("caps output at the budget and ignores malformed chunks", () => {
    const tally = new DeliveredTally({ inputTokens: 0, maxOutputTokens: 2 });
    for (const piece of ["a", "b", "c"]) tally.add(chatDelta(piece));
    tally.add(null);
    tally.add({ choices: [null, 3, { index: 1e9, text: "x" }] });
    expect(tally.pieces).toEqual([3, 0, 1]);
    expect(tally.outputTokens).toBe(2);
  });

  it("counts a unary answer like a completed stream", () => {
    const answer = {
      choices: [{ index: 0, message: { role: "assistant", content: "Hi there" }, finish_reason: "stop" }],
      usage: { prompt_tokens: 3, completion_tokens: 4, total_tokens: 7 },
    };
    const unary = DeliveredTally.ofAnswer(answer, budget);
    const streamed = new DeliveredTally(budget);
    streamed.add(chatDelta("Hi"));
    streamed.add(chatDelta(" there", 0, "stop"));
    streamed.add({ choices: [], usage: answer.usage });
    streamed.complete();
    expect(unary.usage()).toEqual(streamed.usage());
    expect(unary.finishReasons).toEqual(streamed.finishReasons);
    // Without usage, a whole answer counts its one piece per choice.
    expect(DeliveredTally.ofAnswer({ choices: [{ index: 0, text: "abc" }] }, budget).outputTokens).toBe(1);
  });

  it("counts a chunk that carries several tokens by its words, however the pieces were cut into chunks", () => {
    const words = ["The", " quick", " brown", " fox", " jumps"];
    const one = new DeliveredTally({ inputTokens: 1, maxOutputTokens: 1000 });
    for (const word of words) one.add(chatDelta(word, 0));
    const folded = new DeliveredTally({ inputTokens: 1, maxOutputTokens: 1000 });
    folded.add(chatDelta(words.slice(0, 3).join(""), 0));
    folded.add(chatDelta(words.slice(3).join(""), 0));
    expect(one.usage().outputTokens).toBe(5);
    expect(folded.usage().outputTokens).toBe(5);
    // A piece inside a word is still one token.
    const split = new DeliveredTally({ inputTokens: 1, maxOutputTokens: 1000 });
    for (const piece of ["jum", "ps", " over"]) split.add(chatDelta(piece, 0));
    expect(split.usage().outputTokens).toBe(3);
  });

  it("property: a stream cut after k chunks delivers exactly the non-empty pieces among them, each at least its words", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 3 }), fc.string({ maxLength: 3 })), { maxLength: 40 }),
        fc.nat(),
        (chunks, cut) => {
          const k = chunks.length === 0 ? 0 : cut % (chunks.length + 1);
          const tally = new DeliveredTally({ inputTokens: 1, maxOutputTokens: 1000 });
          for (const [index, content] of chunks.slice(0, k)) tally.add(chatDelta(content, index));
          const expected = chunks
            .slice(0, k)
            .filter(([, content]) => content !== "")
            .reduce(
              (sum, [, content]) => sum + Math.max(1, content.split(/\s+/).filter((w) => w !== "").length),
              0,
            );
          expect(tally.usage()).toEqual({ inputTokens: 1, outputTokens: expected });
          expect(tally.pieces.reduce((a, b) => a + b, 0)).toBe(expected);
        },
      ),
    );
  });
});
