import { StreamedToolCalls, toolCallLimit, toolCallsOverLimit } from "@pocket-ai/protocol";
import { describe, expect, it } from "vitest";
import { testDispatch, testRoute } from "../../test/support/relay-route.js";
import { answerLimits } from "./relay-envelope.js";

const call = (i: number) => ({
  id: `call_${i}`,
  type: "function",
  function: { name: "lookup", arguments: "{}" },
});

/** A chat answer whose one choice's message carries `message` and ends with `finish_reason`. */
const answer = (message: Record<string, unknown>, finish_reason: string | null = "stop") => ({
  choices: [{ index: 0, message: { role: "assistant", content: null, ...message }, finish_reason }],
});

/** A stream chunk whose one choice's delta is `delta`. */
const chunk = (delta: Record<string, unknown>, finish_reason: string | null = null) => ({
  choices: [{ index: 0, delta, finish_reason }],
});

const weather = { type: "function", function: { name: "lookup", parameters: { type: "object" } } };

describe("the tool calls a chat request allows", () => {
  it("none without tools, or with tool_choice none on a node that obeys tool_choice; one with parallel_tool_calls: false", () => {
    expect(toolCallLimit({ messages: [] }, true)).toEqual({ most: 0, why: "no tools" });
    expect(toolCallLimit({ tools: [] }, false)).toEqual({ most: 0, why: "no tools" });
    expect(toolCallLimit({ tools: [weather], tool_choice: "none" }, true)).toEqual({
      most: 0,
      why: "tool_choice none",
    });
    // Ollama takes tools and ignores tool_choice: its call is honest.
    expect(toolCallLimit({ tools: [weather], tool_choice: "none" }, false)).toBeUndefined();
    expect(toolCallLimit({ tools: [weather], parallel_tool_calls: false }, true)).toEqual({ most: 1 });
    expect(toolCallLimit({ tools: [weather] }, true)).toBeUndefined();
    expect(toolCallLimit({ tools: [weather], tool_choice: "auto" }, true)).toBeUndefined();
  });

  it("reaches a chat's answer limits, and no completion's", () => {
    const route = testRoute(1_000_005_000);
    const chat = (body: Record<string, unknown>) =>
      answerLimits(
        route,
        testDispatch({ messages: [{ role: "user", content: "hi" }], ...body }, "chat.completions"),
      ).toolCalls;
    expect(chat({})).toEqual({ most: 0, why: "no tools" });
    expect(chat({ tools: [weather] })).toBeUndefined();
    expect(chat({ tools: [weather], parallel_tool_calls: false })).toEqual({ most: 1 });
    expect(answerLimits(route, testDispatch({ prompt: "hi" })).toolCalls).toBeUndefined();
  });
});

describe("a unary chat answer's tool calls", () => {
  const none = { most: 0, why: "no tools" } as const;

  it("refuses any call, deprecated function_call or tool_calls finish where no tool was offered", () => {
    const offered = "choice 0 makes a tool call; the request offered no tools";
    expect(toolCallsOverLimit(answer({ tool_calls: [call(0)] }, "tool_calls"), none)).toEqual({
      reason: "TOOL_CALLS_NOT_OFFERED",
      detail: offered,
    });
    expect(toolCallsOverLimit(answer({ tool_calls: [call(0)] }), none)?.detail).toBe(offered);
    expect(toolCallsOverLimit(answer({ function_call: { name: "x", arguments: "{}" } }), none)?.detail).toBe(
      offered,
    );
    expect(toolCallsOverLimit(answer({ content: "hi" }, "tool_calls"), none)).toEqual({
      reason: "TOOL_CALLS_NOT_OFFERED",
      detail: "choice 0 ends with finish_reason tool_calls; the request offered no tools",
    });
    expect(
      toolCallsOverLimit(answer({ tool_calls: [call(0)] }), { most: 0, why: "tool_choice none" })?.detail,
    ).toBe('choice 0 makes a tool call; the request set tool_choice: "none"');
  });

  it("passes text, an empty tool_calls (vLLM sends one) and a null function_call", () => {
    expect(toolCallsOverLimit(answer({ content: "hi" }), none)).toBeUndefined();
    expect(toolCallsOverLimit(answer({ content: "hi", tool_calls: [] }, "length"), none)).toBeUndefined();
    expect(
      toolCallsOverLimit(answer({ content: "hi", tool_calls: null, function_call: null }), none),
    ).toBeUndefined();
  });

  it("holds parallel_tool_calls: false to one call, and lets calls through where tools were offered", () => {
    const two = answer({ tool_calls: [call(0), call(1)] }, "tool_calls");
    expect(toolCallsOverLimit(two, { most: 1 })?.reason).toBe("TOOL_CALLS");
    expect(toolCallsOverLimit(answer({ tool_calls: [call(0)] }, "tool_calls"), { most: 1 })).toBeUndefined();
    expect(toolCallsOverLimit(two, undefined)).toBeUndefined();
  });
});

describe("a stream's tool calls", () => {
  it("refuses a tool-call delta, a function_call delta or a tool_calls finish where no tool was offered", () => {
    for (const lie of [
      chunk({ tool_calls: [{ index: 0, id: "call_0", function: { name: "lookup", arguments: "" } }] }),
      chunk({ function_call: { name: "lookup" } }),
      chunk({}, "tool_calls"),
      chunk({}, "function_call"),
    ]) {
      const calls = new StreamedToolCalls({ most: 0, why: "no tools" });
      expect(calls.add(chunk({ role: "assistant", content: "" }))).toBeUndefined();
      expect(calls.add(chunk({ content: "hi", tool_calls: [] }))).toBeUndefined();
      expect(calls.add(lie)?.reason).toBe("TOOL_CALLS_NOT_OFFERED");
    }
    expect(new StreamedToolCalls({ most: 0, why: "no tools" }).add(chunk({}, "stop"))).toBeUndefined();
  });

  it("holds parallel_tool_calls: false to one call over several deltas", () => {
    const calls = new StreamedToolCalls({ most: 1 });
    expect(calls.add(chunk({ tool_calls: [{ index: 0, id: "call_0" }] }))).toBeUndefined();
    expect(calls.add(chunk({ tool_calls: [{ index: 0, function: { arguments: "{}" } }] }))).toBeUndefined();
    expect(calls.add(chunk({}, "tool_calls"))).toBeUndefined();
    expect(calls.add(chunk({ tool_calls: [{ index: 1, id: "call_1" }] }))?.reason).toBe("TOOL_CALLS");
  });
});
