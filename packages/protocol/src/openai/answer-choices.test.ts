import { describe, expect, it } from "vitest";
import { answerChoicesMismatch, chunkChoiceOutOfRange, StreamedChoices } from "./answer-choices.js";

const answer = (...indexes: unknown[]) => ({ choices: indexes.map((index) => ({ index, text: "x" })) });

describe("answerChoicesMismatch", () => {
  it("accepts exactly the choices asked for, numbered 0…k-1 in any order", () => {
    expect(answerChoicesMismatch(answer(0), 1)).toBeUndefined();
    expect(answerChoicesMismatch(answer(3, 1, 0, 2), 4)).toBeUndefined();
  });

  it("says what is wrong with any other answer", () => {
    expect(answerChoicesMismatch({}, 1)).toBe("holds no choices array");
    expect(answerChoicesMismatch(null, 1)).toBe("holds no choices array");
    expect(answerChoicesMismatch(answer(0), 3)).toBe(
      "holds 1 choices; the request asked for 3 (prompts × n)",
    );
    expect(answerChoicesMismatch(answer(0, 0), 2)).toBe("holds choice 0 twice");
    for (const index of [2, -1, 0.5, undefined])
      expect(answerChoicesMismatch(answer(0, index), 2)).toBe(
        `holds a choice numbered ${String(index)}; choices are numbered 0 to 1`,
      );
    // Text in an index is named by its type only: no engine text rides in the reason.
    expect(answerChoicesMismatch(answer(0, "/srv/engine/secret.gguf"), 2)).toBe(
      "holds a choice numbered (a string); choices are numbered 0 to 1",
    );
  });
});

describe("chunkChoiceOutOfRange", () => {
  it("accepts an index below the choices asked for, and names any other", () => {
    expect(chunkChoiceOutOfRange(1, 2)).toBeUndefined();
    expect(chunkChoiceOutOfRange(2, 2)).toBe("streams a choice numbered 2; choices are numbered 0 to 1");
    expect(chunkChoiceOutOfRange(null, 2)).toBe(
      "streams a choice numbered null; choices are numbered 0 to 1",
    );
  });
});

describe("StreamedChoices", () => {
  it("counts each choice asked for once, and names the first chunk of one not asked for", () => {
    const choices = new StreamedChoices(2);
    expect(choices.add({ choices: [] })).toBeUndefined();
    expect(choices.add(answer(1))).toBeUndefined();
    expect(choices.add(answer(1))).toBeUndefined();
    expect(choices.seen).toBe(1);
    expect(choices.add(answer(0))).toBeUndefined();
    expect(choices.seen).toBe(2);
    expect(choices.add(answer(2))).toBe("streams a choice numbered 2; choices are numbered 0 to 1");
  });
});
