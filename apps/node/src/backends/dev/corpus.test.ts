import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { DEV_CORPUS_PATH, documentRank, loadCorpus, splitDocuments, stripHeader } from "./corpus.js";
import { createDevTextEngine } from "./text-engine.js";

describe("corpus", () => {
  it("ships an original corpus of 40–80 KB whose header is not training text", () => {
    const raw = readFileSync(DEV_CORPUS_PATH, "utf8");
    expect(raw.startsWith("# Pocket AI development corpus.")).toBe(true);
    expect(raw).toMatch(/license \(MIT\)/);
    const text = loadCorpus();
    expect(text.length).toBeGreaterThan(40_000);
    expect(text.length).toBeLessThan(80_000);
    expect(text.startsWith("#")).toBe(false);
    expect(splitDocuments(text).length).toBeGreaterThan(150);
  });

  it("splits documents on blank lines and ranks them stably in [0, 1)", () => {
    expect(splitDocuments(stripHeader("# h\n\nOne.\nStill one.\n\n\nTwo.\n"))).toEqual([
      "One.\nStill one.",
      "Two.",
    ]);
    const rank = documentRank("Two.");
    expect(rank).toBe(documentRank("Two."));
    expect(rank).toBeGreaterThanOrEqual(0);
    expect(rank).toBeLessThan(1);
  });

  it("trains an engine on a corpus string given by a test", async () => {
    const engine = createDevTextEngine({ corpus: "The moon is bright tonight.\n\nThe moon is round." });
    const { text } = await engine.complete({ prompt: "The moon is", maxTokens: 5, temperature: 0 });
    expect([" bright tonight.", " round."]).toContain(text);
  });
});
