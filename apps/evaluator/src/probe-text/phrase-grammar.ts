import type { Rng } from "../runs/rng.js";

/**
 * A small phrase grammar for the texts probes carry besides their items (system messages,
 * letter-question instructions, identity and speed prompts). A pool is written as lines:
 *
 * ```text
 * # a comment
 * (Answer|Reply) with (just |)the letter(.|, please.)
 * {opener} {subject} {verb}
 * [subject]
 * the (old |)farmer
 * a clock
 * ```
 *
 * Lines before the first `[name]` header are the pool's templates; the lines under a header are
 * the alternatives of the slot `{name}`. In a line, `(a|b|c)` picks one alternative (nested
 * groups allowed, an empty alternative makes a part optional), `{name}` fills a slot, and `\`
 * escapes the next character (`\(` for a literal parenthesis). One pool file and many small
 * alternatives give thousands of texts, so that no sentence recurs across many probes.
 */
export type Part =
  | { readonly kind: "text"; readonly text: string }
  | { readonly kind: "choice"; readonly options: readonly Sequence[] }
  | { readonly kind: "slot"; readonly name: string };
export type Sequence = readonly Part[];

export interface PhrasePool {
  readonly templates: readonly Sequence[];
  /** Each template's line in its source (1-based), for problems found after parsing. */
  readonly templateLines: readonly number[];
  readonly slots: ReadonlyMap<string, readonly Sequence[]>;
}

/** A problem with one line of a pool (1-based line number), as the operator fixes it. */
export interface PoolProblem {
  readonly line: number;
  readonly problem: string;
}

const SLOT_NAME = /^[a-z][a-z0-9_-]*$/;

/** Parses one line of the grammar; throws a message naming the column on a syntax error. */
export function parseLine(line: string): Sequence {
  let at = 0;
  const sequence = (depth: number): Part[][] => {
    const options: Part[][] = [[]];
    let text = "";
    const flush = () => {
      if (text !== "") options[options.length - 1]!.push({ kind: "text", text });
      text = "";
    };
    while (at < line.length) {
      const c = line[at]!;
      if (c === "\\") {
        if (at + 1 >= line.length) throw new Error(`a '\\' at column ${at + 1} escapes nothing`);
        text += line[at + 1];
        at += 2;
      } else if (c === "(") {
        flush();
        const open = at;
        at += 1;
        const inner = sequence(depth + 1);
        if (line[at] !== ")") throw new Error(`the '(' at column ${open + 1} is never closed`);
        at += 1;
        options[options.length - 1]!.push({ kind: "choice", options: inner });
      } else if (c === ")") {
        if (depth === 0) throw new Error(`the ')' at column ${at + 1} closes no '('`);
        flush();
        return options;
      } else if (c === "|") {
        if (depth === 0) throw new Error(`the '|' at column ${at + 1} is outside any '( … )'`);
        flush();
        options.push([]);
        at += 1;
      } else if (c === "{") {
        const close = line.indexOf("}", at);
        const name = close < 0 ? "" : line.slice(at + 1, close);
        if (close < 0 || !SLOT_NAME.test(name))
          throw new Error(`'{' at column ${at + 1} must open a slot name in lower case, like {subject}`);
        flush();
        options[options.length - 1]!.push({ kind: "slot", name });
        at = close + 1;
      } else if (c === "}") {
        throw new Error(`the '}' at column ${at + 1} closes no slot`);
      } else {
        text += c;
        at += 1;
      }
    }
    flush();
    return options;
  };
  const top = sequence(0);
  return top[0]!;
}

/**
 * Parses a pool file's text. Problems (syntax, a slot used but never defined, a slot that
 * contains itself, no templates) are returned with their line numbers, never thrown.
 */
export function parsePool(
  source: string,
  builtIn: readonly string[] = [],
): { pool: PhrasePool; problems: PoolProblem[] } {
  const templates: Sequence[] = [];
  const templateLines: number[] = [];
  const slots = new Map<string, Sequence[]>();
  const problems: PoolProblem[] = [];
  const used: { name: string; line: number }[] = [];
  const lineOf = new Map<string, number>();
  let section: string | undefined;
  let templateCount = 0;
  source.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) return;
    const header = /^\[(.*)\]$/.exec(line);
    if (header !== null) {
      const name = header[1]!;
      if (!SLOT_NAME.test(name))
        problems.push({ line: i + 1, problem: `'[${name}]' is not a slot name in lower case` });
      else if (slots.has(name) || builtIn.includes(name))
        problems.push({ line: i + 1, problem: `slot '${name}' is defined twice` });
      else {
        slots.set(name, []);
        lineOf.set(name, i + 1);
      }
      section = name;
      return;
    }
    if (section === undefined) templateCount += 1;
    try {
      const parsed = parseLine(line);
      for (const name of slotsIn(parsed)) used.push({ name, line: i + 1 });
      if (section === undefined) {
        templates.push(parsed);
        templateLines.push(i + 1);
      } else slots.get(section)?.push(parsed);
    } catch (e) {
      problems.push({ line: i + 1, problem: (e as Error).message });
    }
  });
  for (const u of used)
    if (!slots.has(u.name) && !builtIn.includes(u.name))
      problems.push({ line: u.line, problem: `slot '{${u.name}}' has no '[${u.name}]' section` });
  for (const [name, options] of slots) {
    if (options.length === 0)
      problems.push({ line: lineOf.get(name)!, problem: `slot '[${name}]' has no lines` });
    if (reaches(slots, name, name, new Set()))
      problems.push({ line: lineOf.get(name)!, problem: `slot '[${name}]' contains itself` });
  }
  if (templateCount === 0)
    problems.push({ line: 1, problem: "no templates: put template lines before the first '[slot]' section" });
  return { pool: { templates, templateLines, slots }, problems };
}

function slotsIn(seq: Sequence): string[] {
  return seq.flatMap((p) =>
    p.kind === "slot" ? [p.name] : p.kind === "choice" ? p.options.flatMap(slotsIn) : [],
  );
}

function reaches(
  slots: ReadonlyMap<string, readonly Sequence[]>,
  from: string,
  target: string,
  seen: Set<string>,
): boolean {
  for (const name of (slots.get(from) ?? []).flatMap(slotsIn)) {
    if (name === target) return true;
    if (seen.has(name)) continue;
    seen.add(name);
    if (reaches(slots, name, target, seen)) return true;
  }
  return false;
}

/** Values of slots filled at the time of use (the letters of a question's choices). */
export type Fill = Readonly<Record<string, (rng: Rng) => string>>;

/** One text of a sequence, every choice drawn with `rng`. */
export function expand(pool: PhrasePool, seq: Sequence, rng: Rng, fill: Fill = {}): string {
  let out = "";
  for (const part of seq) {
    if (part.kind === "text") out += part.text;
    else if (part.kind === "choice") out += expand(pool, rng.pick(part.options), rng, fill);
    else {
      const options = pool.slots.get(part.name);
      out +=
        options === undefined ? (fill[part.name]?.(rng) ?? "") : expand(pool, rng.pick(options), rng, fill);
    }
  }
  return out;
}

/** One text of the pool: a template drawn uniformly, then its choices. Spaces are tidied. */
export function draw(pool: PhrasePool, rng: Rng, fill: Fill = {}): string {
  return tidy(expand(pool, rng.pick(pool.templates), rng, fill));
}

/** Collapses runs of spaces and drops spaces before punctuation (left by empty alternatives). */
export const tidy = (text: string): string =>
  text
    .replace(/ {2,}/g, " ")
    .replace(/ ([,.;:?!])/g, "$1")
    .trim();

/** How many texts a sequence can make (an upper bound: equal texts by two paths count twice). */
export function variety(pool: PhrasePool, seq: Sequence, fill: readonly string[] = []): number {
  let n = 1;
  for (const part of seq) {
    if (part.kind === "choice") n *= part.options.reduce((s, o) => s + variety(pool, o, fill), 0);
    else if (part.kind === "slot") {
      const options = pool.slots.get(part.name);
      n *= options === undefined ? 1 : options.reduce((s, o) => s + variety(pool, o, fill), 0);
    }
    if (n > 1e15) return 1e15;
  }
  return n;
}

/** How many texts the pool can make. */
export const poolVariety = (pool: PhrasePool): number =>
  Math.min(
    1e15,
    pool.templates.reduce((s, t) => s + variety(pool, t), 0),
  );

/** The most characters one text of a sequence can have (filled slots counted as `fillChars`). */
export function maxChars(pool: PhrasePool, seq: Sequence, fillChars = 16): number {
  let n = 0;
  for (const part of seq) {
    if (part.kind === "text") n += part.text.length;
    else if (part.kind === "choice") n += Math.max(...part.options.map((o) => maxChars(pool, o, fillChars)));
    else {
      const options = pool.slots.get(part.name);
      n += options === undefined ? fillChars : Math.max(...options.map((o) => maxChars(pool, o, fillChars)));
    }
  }
  return n;
}

/**
 * Whether every text of a sequence says something `test` accepts in one of its fixed pieces, or
 * fills one of the `always` slots: e.g. every letter instruction asks for a letter.
 */
export function alwaysSays(
  pool: PhrasePool,
  seq: Sequence,
  test: (text: string) => boolean,
  always: readonly string[] = [],
): boolean {
  return seq.some((part) => {
    if (part.kind === "text") return test(part.text);
    if (part.kind === "choice") return part.options.every((o) => alwaysSays(pool, o, test, always));
    if (always.includes(part.name)) return true;
    const options = pool.slots.get(part.name);
    return options?.every((o) => alwaysSays(pool, o, test, always)) === true;
  });
}

/** The fixed pieces of text a pool is written with: what a reader of its source can search for. */
export function fragments(pool: PhrasePool): string[] {
  const out = new Set<string>();
  const walk = (seq: Sequence) => {
    for (const part of seq) {
      if (part.kind === "text") out.add(part.text);
      else if (part.kind === "choice") part.options.forEach(walk);
    }
  };
  pool.templates.forEach(walk);
  for (const options of pool.slots.values()) options.forEach(walk);
  return [...out];
}
