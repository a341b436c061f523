import { describe, expect, it } from "vitest";
import { carriesErrorMember, OutputAfterFinish } from "./answer-rules.js";

describe("the rules of an answer's own text", () => {
  it("take a top-level error member, other than null, for an answer that carries an error", () => {
    expect(carriesErrorMember({ choices: [], error: { message: "x" } })).toBe(true);
    expect(carriesErrorMember({ choices: [], error: "x" })).toBe(true);
    expect(carriesErrorMember({ choices: [], error: null })).toBe(false);
    expect(carriesErrorMember({ choices: [] })).toBe(false);
    expect(carriesErrorMember(["error"])).toBe(false);
  });

  it("refuse output for a choice after its finish, and only then", () => {
    const finished = new OutputAfterFinish();
    expect(finished.add({ choices: [{ index: 0, delta: { content: "Hi" } }] })).toBeUndefined();
    expect(finished.add({ choices: [{ index: 0, delta: {}, finish_reason: "stop" }] })).toBeUndefined();
    // Another choice goes on; the finished one may send empty pieces (usage, role), not output.
    expect(finished.add({ choices: [{ index: 1, delta: { content: "Yo" } }] })).toBeUndefined();
    expect(finished.add({ choices: [{ index: 0, delta: { content: "" } }] })).toBeUndefined();
    expect(finished.add({ choices: [{ index: 0, delta: { content: " more" } }] })).toBe(
      "choice 0 streamed output after its finish_reason",
    );
    expect(
      finished.add({ choices: [{ index: 0, delta: { tool_calls: [{ function: { name: "f" } }] } }] }),
    ).toBe("choice 0 streamed output after its finish_reason");
    expect(finished.add({ choices: [{ index: 0, message: { refusal: "no" } }] })).toBe(
      "choice 0 streamed output after its finish_reason",
    );
  });
});
