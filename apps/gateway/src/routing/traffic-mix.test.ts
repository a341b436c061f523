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
    const mix = new TrafficMixCounter({
      halfLife: 1_000,
      minCount: 3,
      maxShapes: 100,
      minApplications: 3,
      maxApplicationShare: 1,
    });
    const record = (body: Record<string, unknown>, app: string) =>
      mix.record(trafficShapeOf("chat.completions", body), promptCharsOf("chat.completions", body), app);
    for (let i = 0; i < 5; i++) record(chat(0.7), `app-${i % 3}`);
    record(chat(1.3), "app-0");
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
    const mix = new TrafficMixCounter({
      halfLife: 10,
      minCount: 1,
      maxShapes: 100,
      minApplications: 1,
      maxApplicationShare: 1,
    });
    for (let i = 0; i < 10; i++)
      mix.record(trafficShapeOf("chat.completions", chat(0.2)), { upTo: 8, linesUpTo: 1 }, "app-a");
    for (let i = 0; i < 9; i++)
      mix.record(trafficShapeOf("chat.completions", chat(0.9)), { upTo: 8, linesUpTo: 1 }, "app-b");
    const counts = Object.fromEntries(mix.snapshot().shapes.map((s) => [s.shape.temperature, s.count]));
    expect(counts).toEqual({ 0.2: 5, 0.9: 9 });
  });

  it("publishes a shape only when several applications send it, none counting past its share", () => {
    const mix = new TrafficMixCounter();
    const record = (body: Record<string, unknown>, app: string) =>
      mix.record(trafficShapeOf("chat.completions", body), promptCharsOf("chat.completions", body), app);
    const planted = { ...chat(0.7), temperature: 1.35, top_p: 0.15, max_tokens: 737 };
    const plantedShare = () => {
      const shapes = mix.snapshot().shapes;
      const total = shapes.reduce((sum, e) => sum + e.count, 0);
      const marked = shapes.find((e) => e.shape.maxTokens === 737)?.count ?? 0;
      return marked / total;
    };
    // 200 customer applications in four shapes; one key sends a shape of its own, a third of all relays.
    for (let i = 0; i < 6_000; i++) {
      record(chat([0.2, 0.7, 1, 0.5][i % 4]!), `customer-${i % 200}`);
      if (i % 2 === 0) record(planted, "node-owner");
    }
    expect(plantedShare()).toBe(0);
    // Two more keys of the same owner: the shape is published, each key counting 5% of all relays.
    for (let i = 0; i < 600; i++) record(planted, `node-owner-${i % 2}`);
    expect(plantedShare()).toBeGreaterThan(0);
    expect(plantedShare()).toBeLessThan(0.2);
  });

  it("publishes a prompt-length bucket only when several applications send it, none counting past its share", () => {
    const mix = new TrafficMixCounter();
    const record = (body: Record<string, unknown>, app: string) =>
      mix.record(trafficShapeOf("chat.completions", body), promptCharsOf("chat.completions", body), app);
    // The customers' shape, with a last message of a length no customer sends: 700 characters on 24 lines.
    const planted = {
      ...chat(0.7),
      messages: [
        { role: "system", content: "Be brief." },
        { role: "user", content: Array.from({ length: 24 }, () => "x".repeat(28)).join("\n") },
      ],
    };
    const bucket = promptCharsOf("chat.completions", planted);
    const isPlanted = (b: { upTo: number; linesUpTo: number }) =>
      b.upTo === bucket.upTo && b.linesUpTo === bucket.linesUpTo;
    const plantedShare = () => {
      const buckets = mix.snapshot().promptChars;
      const total = buckets.reduce((sum, b) => sum + b.count, 0);
      return (buckets.find(isPlanted)?.count ?? 0) / total;
    };
    // 200 customer applications; one key sends the planted length, a third of all relays.
    for (let i = 0; i < 6_000; i++) {
      record(chat([0.2, 0.7, 1, 0.5][i % 4]!), `customer-${i % 200}`);
      if (i % 2 === 0) record(planted, "node-owner");
    }
    // The customers' bucket counts every relay, though its 200 applications are more than a
    // bucket remembers (the application set is bounded; forgotten ones' relays still count).
    expect(
      mix
        .snapshot()
        .promptChars.filter((b) => !isPlanted(b))
        .map((b) => b.count),
    ).toEqual([6_000]);
    expect(plantedShare()).toBe(0);
    // Two more keys of the same owner: the bucket is published, each key counting 5% of all relays.
    for (let i = 0; i < 600; i++) record(planted, `node-owner-${i % 2}`);
    expect(plantedShare()).toBeGreaterThan(0);
    expect(plantedShare()).toBeLessThan(0.2);
  });

  it("counts every relay of a shape sent by more applications than a shape remembers", () => {
    const mix = new TrafficMixCounter();
    for (let i = 0; i < 400; i++)
      mix.record(
        trafficShapeOf("chat.completions", chat(0.7)),
        { upTo: 8, linesUpTo: 1 },
        `customer-${i % 200}`,
      );
    const snapshot = mix.snapshot();
    expect(snapshot.shapes.map((e) => e.count)).toEqual([400]);
    expect(snapshot.promptChars.map((b) => b.count)).toEqual([400]);
  });
});
