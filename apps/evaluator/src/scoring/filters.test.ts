import { Effect } from "effect";
import { describe, expect, it } from "vitest";
import { loadSuite } from "../tasks/load-task.js";
import { applyFilters } from "./filters.js";
import { passesUnitTests, scoreGeneration } from "./generate-metrics.js";
import { constantLogprobs, continuationLogprob, multipleChoiceScores } from "./loglikelihood.js";

const doc = {};
const ctx = { prompt: "", rawCompletion: "", doc };

describe("filters and metrics", () => {
  it("extracts with a regex (group 1 when present) and takes the first", () => {
    expect(
      applyFilters("The answer is 42.", [
        { function: "regex", regex_pattern: "(\\d+)", group_select: 0, fallback: "?" },
        { function: "take_first" },
      ]),
    ).toBe("42");
    expect(
      applyFilters("1, 2, 3", [{ function: "regex", regex_pattern: "\\d", group_select: -1, fallback: "?" }]),
    ).toBe("3");
    expect(
      applyFilters("none", [
        { function: "regex", regex_pattern: "\\d", group_select: 0, fallback: "[invalid]" },
      ]),
    ).toBe("[invalid]");
  });

  it("scores exact match with normalisation options", () => {
    const em = { metric: "exact_match", ignore_case: true, ignore_punctuation: true } as const;
    const score = (...args: Parameters<typeof scoreGeneration>) => Effect.runSync(scoreGeneration(...args));
    expect(score(em, " Paris.", "paris", ctx)).toBe(1);
    expect(score({ ...em, ignore_case: false }, "paris", "Paris", ctx)).toBe(0);
    expect(score({ metric: "regex_match", flags: "i" }, "It is TUESDAY.", "\\btuesday\\b", ctx)).toBe(1);
  });

  it("scores a number word in the starter suite whether or not the answer capitalises it", () => {
    const suite = Effect.runSync(loadSuite([]));
    for (const name of ["addition_words", "multiplication_words"]) {
      const def = suite.find((t) => t.definition.task === name)!.definition;
      const scored = (raw: string) =>
        Effect.runSync(
          scoreGeneration(
            def.metric_list[0]!,
            applyFilters(raw, def.filter_list[0]!.filter),
            "twenty-one",
            ctx,
          ),
        );
      expect(scored(" twenty-one")).toBe(1);
      expect(scored(" Twenty-one.")).toBe(1);
      expect(scored(" TWENTY-ONE")).toBe(1);
      expect(scored(" twenty")).toBe(0);
    }
  });

  it("runs JavaScript unit tests in a sandbox without I/O", async () => {
    const passes = (program: string, tests: string) => Effect.runPromise(passesUnitTests(program, tests));
    // A correct program passes by what it does, not because a loaded machine was quick enough.
    const roomy = { cpuMs: 20_000, wallMs: 20_000, heapMb: 64 };
    expect(
      await Effect.runPromise(
        passesUnitTests("function add(a, b) {\n  return a + b;\n}", "add(2, 3) === 5", roomy),
      ),
    ).toBe(true);
    expect(await passes("function f() { return typeof process; }", "f() === 'object'")).toBe(false);
    expect(await passes("while (true) {}", "true")).toBe(false);
  });

  it("reads continuation logprobs from an echoed completion and refuses a non-echo", () => {
    const outcome = {
      text: "The capital of France is Paris!",
      logprobs: {
        tokens: ["The", " capital", " of", " France", " is", " Paris", "!"],
        tokenLogprobs: [null, -1, -1, -2, -1, -0.5, -3],
        textOffset: [0, 3, 11, 14, 21, 24, 30],
      },
      completionTokens: 1,
      finishReason: "length",
      timing: { totalMs: 1, ttftMs: null },
    };
    expect(continuationLogprob(outcome, "The capital of France is", " Paris")).toBe(-0.5);
    const noEcho = { ...outcome, text: "!" };
    expect(continuationLogprob(noEcho, "The capital of France is", " Paris")).toMatchObject({
      _tag: "PromptLogprobsUnsupported",
    });
    expect(
      continuationLogprob({ ...outcome, logprobs: null }, "The capital of France is", " Paris"),
    ).toMatchObject({ _tag: "PromptLogprobsUnsupported" });
  });

  it("computes acc and acc_norm, normalising by the choice without its delimiter", () => {
    expect(multipleChoiceScores([-2, -3], ["a", "bbbbbbbb"], 1, 0)).toEqual({ acc: 0, accNorm: 1 });
    // By the choices alone (2 and 4 characters): -1 vs -0.9, the longer wins. Counting a one-space
    // delimiter (3 and 5) would give -0.667 vs -0.72 and pick the shorter one.
    expect(multipleChoiceScores([-2, -3.6], ["ab", "abcd"], 1, 0).accNorm).toBe(1);
  });

  it("breaks ties at random, not toward the first choice", () => {
    const wins = [0, 0, 0, 0];
    for (let i = 0; i < 400; i++) {
      const tieBreak = i / 400;
      for (let gold = 0; gold < 4; gold++)
        wins[gold]! += multipleChoiceScores([-1, -1, -1, -1], ["a", "b", "c", "d"], gold, tieBreak).acc;
    }
    expect(wins).toEqual([100, 100, 100, 100]);
  });

  it("recognises made-up constant logprobs", () => {
    expect(constantLogprobs([[-1, -1], [-1], [-1, -1]])).toBe(true);
    expect(constantLogprobs([[-1, -1.2], [-1], [-1, -1]])).toBe(false);
    expect(constantLogprobs([[-1], [-1]])).toBe(false);
  });
});
