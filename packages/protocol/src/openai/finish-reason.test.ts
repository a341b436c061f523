import { describe, expect, it } from "vitest";
import { canonicalJson } from "../encoding/canonical.js";
import { ChatCompletionResponse } from "./chat-response.js";
import { FinishReason } from "./common-fields.js";
import { normalizeFinishReason, normalizeFinishReasons } from "./finish-reason.js";

describe("normalizeFinishReason", () => {
  it("keeps OpenAI's four values and maps engine spellings to their meaning", () => {
    for (const value of FinishReason.options) expect(normalizeFinishReason(value)).toBe(value);
    expect(normalizeFinishReason("eos_token")).toBe("stop");
    expect(normalizeFinishReason("stop_sequence")).toBe("stop");
    expect(normalizeFinishReason("max_tokens")).toBe("length");
    expect(normalizeFinishReason("function_call")).toBe("tool_calls");
    expect(normalizeFinishReason(null)).toBeNull();
    expect(normalizeFinishReason(undefined)).toBeNull();
  });

  it("maps any other value to stop, so an answer always fits the schema", () => {
    for (const raw of ["abort", "🤷", "", 7, { why: "x" }]) {
      const payload = {
        id: "c",
        object: "chat.completion",
        created: 1,
        model: "m",
        choices: [{ index: 0, message: { role: "assistant", content: "hi" }, finish_reason: raw }],
      };
      expect(ChatCompletionResponse.safeParse(payload).success).toBe(false);
      expect(ChatCompletionResponse.safeParse(normalizeFinishReasons(payload)).success).toBe(true);
    }
  });

  it("maps the names of an object's own properties to stop, like any other word", () => {
    // A node's answer reaches the gateway's check through here: `Constructor` was the Object
    // function (no canonical JSON, a failed schema), `__proto__` an object.
    for (const raw of ["constructor", " Constructor ", "__proto__", "toString", "hasOwnProperty"]) {
      expect(normalizeFinishReason(raw), raw).toBe("stop");
      const payload = {
        id: "c",
        object: "chat.completion",
        created: 1,
        model: "m",
        choices: [{ index: 0, message: { role: "assistant", content: "hi" }, finish_reason: raw }],
      };
      const normalized = normalizeFinishReasons(payload);
      expect(ChatCompletionResponse.safeParse(normalized).success, raw).toBe(true);
      expect(canonicalJson(normalized), raw).toContain('"finish_reason":"stop"');
    }
  });

  it("returns the same object when nothing changes", () => {
    const payload = { choices: [{ index: 0, text: "a", finish_reason: "stop" }] };
    expect(normalizeFinishReasons(payload)).toBe(payload);
    expect(normalizeFinishReasons({ choices: [{ index: 0, finish_reason: "eos_token" }] })).toEqual({
      choices: [{ index: 0, finish_reason: "stop" }],
    });
  });
});
