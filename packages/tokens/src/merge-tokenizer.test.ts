import fc from "fast-check";
import llamaReference, { LlamaTokenizer } from "llama-tokenizer-js";
import mistralReference from "mistral-tokenizer-js";
import { describe, expect, it } from "vitest";
import { familyMergeTokenizer, familyTokenizer, type TokenizerFamily } from "./family-tokenizer.js";
import { heldRunIds, MergeTokenizer } from "./merge-tokenizer.js";

// Each family's tokenizer package: the ids every text must get.
const FAMILIES: ReadonlyArray<{
  family: TokenizerFamily;
  reference: { encode(text: string, bos?: boolean, precedingSpace?: boolean): number[] };
}> = [
  { family: "llama-2", reference: llamaReference },
  { family: "mistral", reference: mistralReference },
];

// Prompt (BOS and a preceding space), output (neither), and the two mixed options.
const MODES: ReadonlyArray<readonly [boolean, boolean]> = [
  [true, true],
  [false, false],
  [true, false],
  [false, true],
];

/**
 * One turn of the event loop. The comparisons below are seconds of synchronous work on an idle
 * machine, and a minute or more on a busy one: the worker that runs this file must still answer the
 * test runner between them (its calls time out after 60 s, however long the test may take).
 */
const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** CPU-bound tests: a time limit here only stops a hung test, never a slow machine's run. */
const CPU_BOUND = { timeout: 300_000 };

/** Expects the same ids as the reference in every family and mode, and the same counts. */
function expectSameIds(text: string): void {
  for (const { family, reference } of FAMILIES) {
    const ours = familyMergeTokenizer(family);
    for (const [bos, precedingSpace] of MODES) {
      const expected = reference.encode(text, bos, precedingSpace);
      const label = `${family} bos=${bos} space=${precedingSpace} text=${JSON.stringify(text.slice(0, 80))}`;
      expect(ours.encode(text, bos, precedingSpace), label).toEqual(expected);
      expect(ours.count(text, bos, precedingSpace), label).toBe(expected.length);
    }
    const counts = familyTokenizer(family);
    expect(counts.countPrompt(text)).toBe(reference.encode(text, true, true).length);
    expect(counts.countOutput(text)).toBe(text === "" ? 0 : reference.encode(text, false, false).length);
  }
}

/** A deterministic pseudo-random source (mulberry32), so a failure names a reproducible text. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WORDS = [
  "the",
  "tokenizer",
  "Pocket",
  "relay",
  "gateway",
  "  ",
  "\n",
  "\n\n",
  "\t",
  "12345",
  "3.14159",
  "!!!",
  "...",
  '{"key": [1, 2]}',
  "naïve",
  "café",
  "Größe",
  "Ωμέγα",
  "Привет",
  "中文字符",
  "日本語のテキスト",
  "한국어",
  "🦙",
  "👩‍👩‍👧",
  "🇫🇷",
  "e\u0301",
  "ﬁ",
  "\u00a0",
  "▁",
  "<0x0A>",
  "undefined",
  "supercalifragilisticexpialidocious",
];

/** Mixed text of about `length` characters: words of several scripts, spaces, digits, emoji. */
function mixedText(length: number, seed: number): string {
  const random = seeded(seed);
  let text = "";
  while (text.length < length) {
    text += WORDS[Math.floor(random() * WORDS.length)]!;
    text += random() < 0.8 ? " " : "";
  }
  return text;
}

const HARD_CASES: readonly string[] = [
  "",
  " ",
  "  ",
  "     ",
  " a",
  "a ",
  "  a  b  ",
  "Hello world",
  " Hello world ",
  "grabbed",
  " grabbed",
  "           grabbed",
  "\n",
  " \n",
  "\n\n\n",
  "\r\n",
  "\ttabs\t\t\t\tout here",
  "ax\n####\nboo",
  "0",
  "1234567890",
  "3.14159265358979",
  "!!!???...;;;",
  "(((([[[{{{}}}]]]))))",
  "----====____",
  "a,b.c;d:e!f?g",
  "🦙",
  "🦙Ꙋ",
  "Ꙋ🦙",
  "😀😃😄😁",
  "👩‍👩‍👧‍👦",
  "🇫🇷🇩🇪",
  "𝔘𝔫𝔦𝔠𝔬𝔡𝔢",
  "𠀀𠀁",
  "镇",
  "中文分词测试",
  "日本語のテキストです。",
  "한국어 문장",
  "e\u0301 a\u0300 o\u0308\u0304",
  "\u0301",
  "\ud800",
  "\udc00",
  "a\ud800b",
  "\udfff\ud800",
  "\ud83e",
  "x\ud83e",
  "\u0000",
  "\u0001\u0002\u007f",
  "\u00a0\u2009\u3000",
  "\ufffd",
  "\uffff",
  "▁",
  "▁▁ ▁",
  "<0x0A>",
  "<s></s><unk>",
  "undefined",
  " undefined",
  "x".repeat(400),
  "a".repeat(1000),
  " ".repeat(300),
  "🦙".repeat(3_000),
  "\n".repeat(5_000),
  "a🦙".repeat(2_000) + "Ꙋ".repeat(2_000),
  "supercalifragilisticexpialidocious".repeat(20),
  "antidisestablishmentarianism",
  "The llama (/ˈlɑːmə/; 🦙Spanish pronunciation: [ˈʎama]) (Lama glama) is a domesticated South American camelid.",
  mixedText(10_000, 1),
];

describe("merge tokenizer against the reference packages", CPU_BOUND, () => {
  it("gives the same ids on hard cases", async () => {
    for (const text of HARD_CASES) {
      expectSameIds(text);
      await turn();
    }
  });

  it("gives the same ids on long mixed texts", async () => {
    for (let seed = 2; seed < 6; seed++) {
      expectSameIds(mixedText(3_000, seed));
      await turn();
    }
  });

  const units = fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom(..."abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") },
    { weight: 4, arbitrary: fc.constantFrom(" ", " ", " ", "\n", "\t", "\r", "\u00a0") },
    { weight: 2, arbitrary: fc.constantFrom(..."0123456789.,;:!?'\"()[]{}<>-_=+*/\\|@#$%^&~`") },
    { weight: 2, arbitrary: fc.integer({ min: 0xa0, max: 0xff }).map((c) => String.fromCharCode(c)) },
    { weight: 2, arbitrary: fc.integer({ min: 0x4e00, max: 0x9fff }).map((c) => String.fromCharCode(c)) },
    {
      weight: 1,
      arbitrary: fc.constantFrom("🦙", "😀", "👍", "🇫🇷", "‍", "𝔘", "𠀀", "🙂", "\u{1f600}\u{1f3fd}"),
    },
    { weight: 1, arbitrary: fc.constantFrom("\u0301", "\u0308", "▁", "ﬁ", "Ω", "й", "ß", "\ufffd") },
    { weight: 1, arbitrary: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)) },
  );

  it("counts texts with more distinct words than the per-text run table keeps", async () => {
    // About 6,000 distinct made-up words, each twice: the table fills, later words are merged.
    const random = seeded(11);
    const letters = "abcdefghijklmnopqrstuvwxyzéö";
    const words: string[] = [];
    for (let i = 0; i < 6_000; i++) {
      let word = "";
      const length = 3 + Math.floor(random() * 9);
      for (let j = 0; j < length; j++) word += letters[Math.floor(random() * letters.length)];
      words.push(word);
    }
    const text = [...words, ...words].join(" ");
    for (const { family, reference } of FAMILIES) {
      expect(familyTokenizer(family).countPrompt(text)).toBe(reference.encode(text, true, true).length);
      expect(familyTokenizer(family).countOutput(text)).toBe(reference.encode(text, false, false).length);
      await turn();
    }
  });

  it("keeps no ids of a counted text after the call", () => {
    for (const { family } of FAMILIES) {
      const counted = familyTokenizer(family).countPrompt(mixedText(5_000, 9));
      expect(counted).toBeGreaterThan(1_000);
      expect(heldRunIds()).toBe(0);
    }
  });

  it("gives the same ids on random mixed-alphabet strings", async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ unit: units, maxLength: 60 }), async (text) => {
        expectSameIds(text);
        await turn();
      }),
      { numRuns: 3_000 },
    );
  });

  it("gives the same ids on random full-Unicode strings", async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ unit: "binary", maxLength: 40 }), async (text) => {
        expectSameIds(text);
        await turn();
      }),
      { numRuns: 1_000 },
    );
  });

  it("gives the same ids on random longer texts", async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ unit: units, minLength: 200, maxLength: 2_000 }), async (text) => {
        expectSameIds(text);
        await turn();
      }),
      { numRuns: 100 },
    );
  });
});

describe("merge tokenizer on a small made-up vocabulary", CPU_BOUND, () => {
  // Tokens over "a", "b", "▁" (the space at id 29871, where the package expects it), some with the
  // space inside ("a▁b"): then runs cannot be merged apart and every text goes through one queue.
  const SPACE_ID = 29871;
  const random = seeded(7);
  const vocab = ["<unk>", "<s>", "</s>"];
  for (let b = 0; b < 256; b++) vocab.push(`<0x${b.toString(16).toUpperCase().padStart(2, "0")}>`);
  while (vocab.length < SPACE_ID) vocab.push(`~${vocab.length}`);
  vocab.push("▁", "a", "b");
  const strings = new Set(vocab);
  while (vocab.length < SPACE_ID + 60) {
    let token = "";
    const length = 2 + Math.floor(random() * 4);
    for (let i = 0; i < length; i++) token += "ab▁"[Math.floor(random() * 3)]!;
    if (!strings.has(token)) {
      strings.add(token);
      vocab.push(token);
    }
  }
  const ids = new Map(vocab.map((token, id) => [token, id]));
  const merges: Array<[number, number]> = [];
  for (let id = SPACE_ID + 3; id < vocab.length; id++) {
    const token = vocab[id]!;
    for (let cut = 1; cut < token.length; cut++) {
      const left = ids.get(token.slice(0, cut));
      const right = ids.get(token.slice(cut));
      if (left !== undefined && right !== undefined) merges.push([left, right]);
    }
  }
  for (let i = merges.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [merges[i], merges[j]] = [merges[j]!, merges[i]!];
  }
  const mergeBytes = Buffer.alloc(merges.length * 4);
  merges.forEach(([left, right], i) => {
    mergeBytes.writeUInt16LE(left, i * 4);
    mergeBytes.writeUInt16LE(right, i * 4 + 2);
  });
  const reference = new LlamaTokenizer(
    Buffer.from(vocab.join("\n"), "utf8").toString("base64"),
    mergeBytes.toString("base64"),
  );
  const ours = new MergeTokenizer(() => reference, SPACE_ID);

  it("gives the package's ids through the single queue", async () => {
    expect(merges.length).toBeGreaterThan(40);
    await fc.assert(
      fc.asyncProperty(
        fc.string({ unit: fc.constantFrom("a", "a", "b", " ", " ", "▁", "\n", "c", "é"), maxLength: 80 }),
        async (text) => {
          for (const [bos, precedingSpace] of MODES) {
            expect(ours.encode(text, bos, precedingSpace)).toEqual(
              reference.encode(text, bos, precedingSpace),
            );
          }
          await turn();
        },
      ),
      { numRuns: 2_000 },
    );
  });
});
