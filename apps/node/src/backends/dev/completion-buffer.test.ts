import { describe, expect, it } from "vitest";
import { CompletionBuffer } from "./completion-buffer.js";
import { buildTokenizer } from "./tokenizer.js";

const tokenizer = buildTokenizer("Hello world, the end. Stop here.");
const run = (text: string, stop: string[]) => {
  const buffer = new CompletionBuffer(tokenizer, stop);
  const chunks: { text: string; tokens: string[] }[] = [];
  let stopped = false;
  for (const token of tokenizer.encode(text)) {
    const pushed = buffer.push({ token, name: tokenizer.tokenName(token), logprob: -1 });
    if (pushed.chunk)
      chunks.push({ text: pushed.chunk.text, tokens: pushed.chunk.tokens.map((t) => t.name) });
    stopped = pushed.stopped;
    if (stopped) break;
  }
  if (!stopped) {
    const rest = buffer.finish();
    if (rest) chunks.push({ text: rest.text, tokens: rest.tokens.map((t) => t.name) });
  }
  return {
    text: chunks.map((c) => c.text).join(""),
    tokens: chunks.flatMap((c) => c.tokens),
    chunks,
    stopped,
  };
};

describe("CompletionBuffer", () => {
  it("cuts at a stop sequence that spans tokens and drops what follows", () => {
    const out = run("Hello world, the end. Stop here.", ["end. St"]);
    expect(out.stopped).toBe(true);
    expect(out.text).toBe("Hello world, the ");
    // " end" starts with the space kept before the stop, so it counts as part of the completion.
    expect(out.tokens).toEqual(["Hello", " world", ",", " the", " end"]);
  });

  it("never releases text that a stop sequence later takes back", () => {
    const out = run("Hello world, the end.", ["the end!"]);
    expect(out.stopped).toBe(false);
    expect(out.text).toBe("Hello world, the end.");
    // "the end" was held until "." showed the stop could not match.
    const held = out.chunks.find((c) => c.tokens.includes(" end"));
    expect(held).toEqual({ text: "the end.", tokens: [" end", "."] });
  });

  it("keeps a token whose start precedes a stop inside it", () => {
    const out = run("Hello world", ["orl"]);
    expect(out.text).toBe("Hello w");
    expect(out.tokens).toEqual(["Hello", " world"]);
  });

  it("releases a split character only when it is complete", () => {
    const out = run("é!", []);
    expect(out.text).toBe("é!");
    expect(out.chunks[0]).toEqual({ text: "é", tokens: ["bytes:\\xc3", "bytes:\\xa9"] });
  });
});
