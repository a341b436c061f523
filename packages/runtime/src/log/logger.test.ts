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
