/**
 * Token counting speed: the family tokenizers of `@pocket-ai/tokens` against the tokenizer
 * packages whose ids they reproduce (`llama-tokenizer-js`, `mistral-tokenizer-js`), same run, same
 * texts: a 26-character prompt, 1,000- and 10,000-character mixed texts (words of several scripts,
 * digits, punctuation, emoji, drawn from a list of 29: most come back), and 10,000 characters of
 * made-up words that never come back (the case where counting finds nothing to look up). Prints µs per call and per character (UTF-16 unit), and the one-time
 * costs: loading the module (the packages decode their data) and each family's first count (its
 * integer tables are built then). Not a test: nothing here fails on a slow machine.
 *
 *   pnpm --filter @pocket-ai/tokens bench:tokenize [--quick]
 */

const quick = process.argv.includes("--quick");
const MIN_MS = quick ? 200 : 1_000;

let started = performance.now();
const { familyTokenizer } = await import("../src/index.js");
const loadMs = performance.now() - started;
const { default: llamaReference } = await import("llama-tokenizer-js");
const { default: mistralReference } = await import("mistral-tokenizer-js");

const firstCallMs: Record<string, number> = {};
for (const family of ["llama-2", "mistral"] as const) {
  started = performance.now();
  familyTokenizer(family).countPrompt("Hello");
  firstCallMs[family] = performance.now() - started;
}

const WORDS = [
  "the",
  "tokenizer",
  "counts",
  "relay",
  "gateway",
  "prompt",
  "tokens",
  "\n",
  "\t",
  "2024",
  "3.14",
  "!",
  "...",
  '{"role": "user"}',
  "café",
  "Größe",
  "Привет",
  "中文字符",
  "日本語",
  "🦙",
  "👍",
  "supercalifragilistic",
];

/** Deterministic mixed text of `length` UTF-16 units. */
function mixedText(length: number): string {
  let state = 12345;
  const random = (): number => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return state / 4294967296;
  };
  let text = "";
  while (text.length < length) text += WORDS[Math.floor(random() * WORDS.length)]! + " ";
  return text.slice(0, length);
}

/**
 * Deterministic text of made-up words, none repeated (letters at random, 3–10 each): nothing a
 * count can look up, neither a vocabulary word nor a word met earlier in the text.
 */
function distinctWords(length: number): string {
  let state = 777;
  const random = (): number => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return state / 4294967296;
  };
  const seen = new Set<string>();
  let text = "";
  while (text.length < length) {
    let word = "";
    const letters = 3 + Math.floor(random() * 8);
    for (let i = 0; i < letters; i++) word += "abcdefghijklmnopqrstuvwxyz"[Math.floor(random() * 26)];
    if (seen.has(word)) continue;
    seen.add(word);
    text += `${word} `;
  }
  return text.slice(0, length);
}

const TEXTS: ReadonlyArray<readonly [string, string]> = [
  ["26-char prompt", "Summarize this in one line"],
  ["1,000-char mixed", mixedText(1_000)],
  ["10,000-char mixed", mixedText(10_000)],
  ["10,000-char distinct made-up words", distinctWords(10_000)],
];

/** Microseconds per call of `op`, run in batches until `MIN_MS` has passed (after a warm-up). */
function microsPerCall(op: () => number): number {
  let sink = 0;
  let batch = 1;
  const warmUntil = performance.now() + MIN_MS / 4;
  while (performance.now() < warmUntil) sink += op();
  let calls = 0;
  const start = performance.now();
  let elapsed = 0;
  while (elapsed < MIN_MS) {
    for (let i = 0; i < batch; i++) sink += op();
    calls += batch;
    elapsed = performance.now() - start;
    if (elapsed < MIN_MS / 20) batch *= 2;
  }
  if (sink < 0) console.log(sink);
  return (elapsed * 1000) / calls;
}

const references = { "llama-2": llamaReference, mistral: mistralReference } as const;

console.log(`module load (both packages decode their data): ${loadMs.toFixed(1)} ms`);
for (const [family, ms] of Object.entries(firstCallMs)) {
  console.log(`${family} first count (integer tables built): ${ms.toFixed(1)} ms`);
}
console.log("");
console.log("| family | text | package µs/call | package µs/char | ours µs/call | ours µs/char | speed-up |");
console.log("| --- | --- | ---: | ---: | ---: | ---: | ---: |");
for (const family of ["llama-2", "mistral"] as const) {
  const reference = references[family];
  const ours = familyTokenizer(family);
  for (const [name, text] of TEXTS) {
    const expected = reference.encode(text, true, true).length;
    if (ours.countPrompt(text) !== expected) throw new Error(`${family} ${name}: counts differ`);
    const old = microsPerCall(() => reference.encode(text, true, true).length);
    const now = microsPerCall(() => ours.countPrompt(text));
    const perChar = (us: number): string => (us / text.length).toFixed(4);
    console.log(
      `| ${family} | ${name} (${expected} tokens) | ${old.toFixed(2)} | ${perChar(old)} | ${now.toFixed(2)} | ${perChar(now)} | ${(old / now).toFixed(1)}× |`,
    );
  }
}
