import { describe, expect, it } from "vitest";
import { createLogger } from "./logger.js";

describe("createLogger", () => {
  it("never writes prompts, outputs or secrets, at any depth", () => {
    const lines: string[] = [];
    const log = createLogger({ app: "test", write: (l) => lines.push(l) });
    log.info("relay served", {
      service: "llama-2-13b",
      body: { messages: [{ role: "user", content: "my secret question" }], prompt: "hidden" },
      apiKey: "sk-123",
      inputTokens: 12,
    });
    const text = lines.join("\n");
    expect(text).not.toContain("my secret question");
    expect(text).not.toContain("hidden");
    expect(text).not.toContain("sk-123");
    const record = JSON.parse(lines[0]!) as Record<string, unknown>;
    expect(record.inputTokens).toBe(12);
    expect(record.service).toBe("llama-2-13b");
  });

  it("writes each record as one plain line: text from outside cannot break it, escape a terminal or turn it around", () => {
    const lines: string[] = [];
    const log = createLogger({ app: "test", write: (l) => lines.push(l) });
    const detail =
      'bad\n{"level":"error","msg":"forged"}\u2028forged\u2029\u001b[2J\u009b2J\u007f\u202egnp.exe\u2067x\u2069';
    log.warn("a node refused", { detail });
    expect(lines).toHaveLength(1);
    // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what must not be there.
    expect(lines[0]).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/);
    expect((JSON.parse(lines[0]!) as { detail: string }).detail).toBe(detail);
  });

  it("filters by level and carries child fields", () => {
    const lines: string[] = [];
    const log = createLogger({ app: "test", level: "warn", write: (l) => lines.push(l) }).child({
      node: "n1",
    });
    log.info("quiet");
    log.warn("loud");
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({ level: "warn", msg: "loud", node: "n1", app: "test" });
  });
});
