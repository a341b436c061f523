import fc from "fast-check";
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
    // " the end" (whole tokens) was held until "." showed the stop could not match.
    const held = out.chunks.find((c) => c.tokens.includes(" end"));
    expect(held).toEqual({ text: " the end.", tokens: [" the", " end", "."] });
  });

  it("puts a token in every piece of text it releases, also when max_tokens ends it inside a possible stop", () => {
    // Each piece of a stream is at least one token to whoever counts it (the node's own checks and
    // the gateway's): a piece with none makes an honest stream look longer than its max_tokens.
    const out = run("Hello world, the", ["the end!"]);
    expect(out.text).toBe("Hello world, the");
    for (const chunk of out.chunks) if (chunk.text !== "") expect(chunk.tokens.length).toBeGreaterThan(0);
    expect(out.chunks.filter((c) => c.text !== "").length).toBeLessThanOrEqual(out.tokens.length);
  });

  it("never releases more pieces of text than tokens, whatever the text and stop sequences", () => {
    const words = ["Hello", " world", ",", " the", " end", ".", " Stop", " here", "é"];
    const stop = fc.string({ unit: fc.constantFrom(..."Helo wrd,thn.Spé"), minLength: 1, maxLength: 6 });
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom(...words), { maxLength: 12 }),
        fc.array(stop, { maxLength: 3 }),
        (parts, stops) => {
          const out = run(parts.join(""), stops);
          for (const chunk of out.chunks)
            if (chunk.text !== "") expect(chunk.tokens.length).toBeGreaterThan(0);
          const cut = stops.map((s) => parts.join("").indexOf(s)).filter((at) => at >= 0);
          expect(out.text).toBe(parts.join("").slice(0, cut.length === 0 ? undefined : Math.min(...cut)));
        },
      ),
    );
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
