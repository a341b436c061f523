import { describe, expect, it } from "vitest";
import { letterPrompt, parseLetter } from "./letter-choice.js";

describe("multiple choice by letter", () => {
  it("reads the letter a reply names, in the forms models answer in", () => {
    expect(parseLetter("B", 4)).toBe(1);
    expect(parseLetter(" (C) Paris", 4)).toBe(2);
    expect(parseLetter("The answer is D.", 4)).toBe(3);
    expect(parseLetter("I think it is A.", 4)).toBe(0);
    expect(parseLetter("E", 4)).toBeUndefined();
    expect(parseLetter("no idea", 4)).toBeUndefined();
  });

  it("does not read the article a or the pronoun I as a choice", () => {
    expect(parseLetter("The answer is a dog, so B.", 4)).toBe(1);
    expect(parseLetter("A spider has eight legs, so the answer is (C).", 4)).toBe(2);
    expect(parseLetter("I think it is C.", 10)).toBe(2);
    expect(parseLetter("I'd say D", 10)).toBe(3);
    expect(parseLetter("answer: b", 4)).toBe(1);
    expect(parseLetter("The answer is (c).", 4)).toBe(2);
    expect(parseLetter("A", 4)).toBe(0);
    expect(parseLetter("A) a dog", 4)).toBe(0);
    expect(parseLetter("I", 10)).toBe(8);
    expect(parseLetter("The answer is A because dogs bark.", 4)).toBe(0);
  });

  it("asks the question with its lettered choices on one line, without the benchmark's answer cue", () => {
    const prompt = letterPrompt(
      "Question: Which is a fruit?\nAnswer:",
      [" apple", " stone"],
      "Letter only.",
      false,
    );
    expect(prompt).toContain("Question: Which is a fruit?\n(A) apple (B) stone\n");
    expect(prompt).not.toContain("Answer:");
    expect(prompt.endsWith("\nLetter only.")).toBe(true);
    expect(
      letterPrompt("Q?\nAnswer:", ["x", "y"], "Which one? Give the letter.", true).endsWith(" Answer:"),
    ).toBe(true);
  });
});
