import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Effect, Exit } from "effect";
import { describe, expect, it } from "vitest";
import { EvaluatorConfig } from "../config/evaluator-config.js";
import { createRng } from "../runs/rng.js";
import { parseLetter } from "../scoring/letter-choice.js";
import { checkPool, loadProbeTexts, POOL_RULES } from "./load-probe-texts.js";
import { draw, fragments, parsePool } from "./phrase-grammar.js";
import { POOL_NAMES, PUBLIC_POOLS, PUBLIC_PROBE_TEXTS } from "./probe-texts.js";
import {
  PUBLIC_LETTER_INSTRUCTIONS,
  PUBLIC_OPENING_PROMPTS,
  PUBLIC_SYSTEM_OPENERS,
  PUBLIC_SYSTEM_SENTENCES,
} from "./public-pools.js";

const PUBLIC_SOURCES = {
  systemOpeners: PUBLIC_SYSTEM_OPENERS,
  systemSentences: PUBLIC_SYSTEM_SENTENCES,
  letterInstructions: PUBLIC_LETTER_INSTRUCTIONS,
  openingPrompts: PUBLIC_OPENING_PROMPTS,
};

const words = (text: string) => text.match(/[A-Za-z0-9']+/g) ?? [];

describe("the public pools", () => {
  it("pass the checks an operator's pools pass", () => {
    for (const name of POOL_NAMES) expect(checkPool(name, PUBLIC_SOURCES[name]).problems).toEqual([]);
  });

  it("hold no fixed piece of three words or more, so a search for one finds only everyday English", () => {
    const long = POOL_NAMES.flatMap((n) => fragments(PUBLIC_POOLS[n])).filter((f) => words(f).length >= 3);
    expect(long).toEqual([]);
  });

  it("draw the same texts from the same seed", () => {
    const run = (seed: number) => {
      const rng = createRng(seed);
      return [
        PUBLIC_PROBE_TEXTS.systemMessage(rng, 300),
        PUBLIC_PROBE_TEXTS.letterInstruction(rng, 4),
        PUBLIC_PROBE_TEXTS.openingPrompt(rng),
      ];
    };
    expect(run(7)).toEqual(run(7));
    expect(run(7)).not.toEqual(run(8));
  });

  it("ask every letter question for a letter, and a reply of the letter alone is read", () => {
    const rng = createRng(11);
    for (let i = 0; i < 2_000; i++) {
      const count = 2 + (i % 4);
      const ask = PUBLIC_PROBE_TEXTS.letterInstruction(rng, count);
      // "letter", or the question's letters listed ("A, B, C or D", "A–D").
      expect(/\bletter\b/i.test(ask) || /\bA\b/.test(ask)).toBe(true);
      expect(ask).not.toContain("\n");
    }
    expect(parseLetter("C", 4)).toBe(2);
  });

  it("write system messages within the asked length, filled toward it", () => {
    const rng = createRng(5);
    for (const chars of [40, 120, 300, 600]) {
      for (let i = 0; i < 200; i++) {
        const text = PUBLIC_PROBE_TEXTS.systemMessage(rng, chars);
        expect(text.length).toBeLessThanOrEqual(chars);
        if (chars >= 120) expect(text.length).toBeGreaterThan(chars * 0.6);
      }
    }
  });

  it("make identity prompts short one-line openings, rarely the same twice", () => {
    const rng = createRng(9);
    const prompts = Array.from({ length: 2_000 }, () => PUBLIC_PROBE_TEXTS.openingPrompt(rng));
    for (const p of prompts) {
      expect(p.length).toBeGreaterThanOrEqual(8);
      expect(p.length).toBeLessThanOrEqual(POOL_RULES.openingPrompts.maxChars);
      expect(p).not.toContain("\n");
      expect(p).toMatch(/^[A-Z]/);
    }
    expect(new Set(prompts).size).toBeGreaterThan(1_980);
  });
});

describe("an operator's pool files", () => {
  const write = (files: Record<string, string>) => {
    const dir = mkdtempSync(join(tmpdir(), "probe-texts-"));
    return Object.fromEntries(
      Object.entries(files).map(([name, text]) => {
        writeFileSync(join(dir, `${name}.txt`), text);
        return [name, join(dir, `${name}.txt`)];
      }),
    );
  };
  const problemsOf = async (files: Record<string, string>) => {
    const exit = await Effect.runPromiseExit(loadProbeTexts(files));
    if (Exit.isSuccess(exit)) return [];
    const error = exit.cause._tag === "Fail" ? exit.cause.error : undefined;
    expect(error?.code).toBe("INVALID_CONFIG");
    return [...(error?.problems ?? [])];
  };
  const LETTERS_OK =
    "(Tick|Mark|Circle) (one|a single) (letter|option letter) (and stop|then stop|and nothing else)(.|!)\n";

  it("replace the public defaults and are drawn from", async () => {
    const texts = await Effect.runPromise(loadProbeTexts(write({ letterInstructions: LETTERS_OK })));
    expect(texts.privatePools).toEqual(["letterInstructions"]);
    const rng = createRng(1);
    for (let i = 0; i < 50; i++)
      expect(texts.letterInstruction(rng, 4)).toMatch(
        /^(Tick|Mark|Circle) (one|a single) (letter|option letter)/,
      );
    // The others stay the public defaults.
    expect(texts.openingPrompt(createRng(2))).toBe(PUBLIC_PROBE_TEXTS.openingPrompt(createRng(2)));
  });

  it("are refused at start with every problem, its pool and its line", async () => {
    const problems = await problemsOf(
      write({
        systemOpeners: "# openers\n(Hello|Hi there, you are {role}\n",
        systemSentences: "Keep it short.\nBe brief.\n",
        letterInstructions: `${LETTERS_OK}(Answer|Reply) (now|at once) (please|thanks)(.|!|?)\n`,
        openingPrompts: "{who} {did}\n[who]\n(the|a) {who}\n",
      }),
    );
    expect(problems).toEqual([
      "probeTexts.systemOpeners, line 2: the '(' at column 1 is never closed",
      "probeTexts.systemSentences: the pool makes only 2 different texts; give at least 128 (more templates, or '(a|b)' alternatives), since a text that recurs across many probes gives them away",
      'probeTexts.letterInstructions, line 2: some texts of this template do not ask for a letter; say "letter" or use {letters} in every alternative, so that replies can be scored',
      "probeTexts.openingPrompts, line 1: slot '{did}' has no '[did]' section",
      "probeTexts.openingPrompts, line 2: slot '[who]' contains itself",
    ]);
  });

  it("are refused when a file cannot be read or a text is too long for its use", async () => {
    const long = `(${"a very long opening that goes on ".repeat(4)}|x) (one|two|three|four|five|six|seven|eight) (a|b|c|d|e|f|g|h) (1|2|3|4|5|6|7|8) (p|q|r|s|t|u|v|w)\n`;
    const problems = await problemsOf({
      ...write({ openingPrompts: long }),
      systemOpeners: join(tmpdir(), "no-such-pool-file.txt"),
    });
    expect(problems).toEqual([
      "probeTexts.systemOpeners: the file cannot be read (ENOENT); name a readable pool file",
      "probeTexts.openingPrompts, line 1: texts of this template reach 144 characters; keep them within 100",
    ]);
  });

  it("are named in the configuration, and nothing else is taken there", () => {
    const base = { gateway: { baseUrl: "http://127.0.0.1:1/v1", apiKey: "k" } };
    expect(EvaluatorConfig.parse(base).probeTexts).toEqual({});
    expect(
      EvaluatorConfig.parse({ ...base, probeTexts: { letterInstructions: "/srv/l.txt" } }).probeTexts,
    ).toEqual({
      letterInstructions: "/srv/l.txt",
    });
    expect(EvaluatorConfig.safeParse({ ...base, probeTexts: { letters: "/srv/l.txt" } }).success).toBe(false);
  });
});

describe("the pool format", () => {
  it("expands choices, optional parts, slots and escapes", () => {
    const { pool, problems } = parsePool("(Hello|Hi)(, {who}|)\\(x\\)!\n[who]\n(friend|there)\n");
    expect(problems).toEqual([]);
    const seen = new Set<string>();
    const rng = createRng(3);
    for (let i = 0; i < 200; i++) seen.add(draw(pool, rng));
    expect([...seen].sort()).toEqual([
      "Hello(x)!",
      "Hello, friend(x)!",
      "Hello, there(x)!",
      "Hi(x)!",
      "Hi, friend(x)!",
      "Hi, there(x)!",
    ]);
  });
});
