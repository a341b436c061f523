import { promptCharsOf, trafficShapeOf } from "@pocket-ai/protocol";
import { describe, expect, it } from "vitest";
import { TrafficMixCounter } from "./traffic-mix.js";

const chat = (temperature: number) => ({
  messages: [
    { role: "system", content: "Be brief." },
    { role: "user", content: "Hello there\nfriend" },
  ],
  temperature,
  max_tokens: 256,
  stream: true,
});

describe("traffic mix", () => {
  it("counts request shapes and prompt lengths, never texts, and leaves rare shapes out", () => {
    const mix = new TrafficMixCounter({ halfLife: 1_000, minCount: 3, maxShapes: 100 });
    const record = (body: Record<string, unknown>) =>
      mix.record(trafficShapeOf("chat.completions", body), promptCharsOf("chat.completions", body));
    for (let i = 0; i < 5; i++) record(chat(0.7));
    record(chat(1.3));
    const snapshot = mix.snapshot();
    expect(snapshot.total).toBe(6);
    expect(snapshot.shapes).toHaveLength(1);
    expect(snapshot.shapes[0]).toEqual({
      count: 5,
      shape: {
        operation: "chat.completions",
        stream: true,
        echo: false,
        logprobs: false,
        temperature: 0.7,
        topP: null,
        maxTokens: 256,
        seed: false,
        system: true,
        turns: 0,
        stop: false,
      },
    });
    // The last message: 18 characters on 2 lines; the system message before it: 9 characters.
    expect(snapshot.promptChars).toEqual([
      { upTo: 32, linesUpTo: 2, contextUpTo: 16, operation: "chat.completions", echo: false, count: 6 },
    ]);
    expect(JSON.stringify(snapshot)).not.toContain("Hello");
  });

  it("halves older traffic so the mix follows what customers send now", () => {
    const mix = new TrafficMixCounter({ halfLife: 10, minCount: 1, maxShapes: 100 });
    for (let i = 0; i < 10; i++)
      mix.record(trafficShapeOf("chat.completions", chat(0.2)), { upTo: 8, linesUpTo: 1 });
    for (let i = 0; i < 9; i++)
      mix.record(trafficShapeOf("chat.completions", chat(0.9)), { upTo: 8, linesUpTo: 1 });
    const counts = Object.fromEntries(mix.snapshot().shapes.map((s) => [s.shape.temperature, s.count]));
    expect(counts).toEqual({ 0.2: 5, 0.9: 9 });
  });
});
