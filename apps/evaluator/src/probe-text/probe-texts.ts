import type { Rng } from "../runs/rng.js";
import { draw, expand, type Fill, type PhrasePool, parsePool, tidy } from "./phrase-grammar.js";
import {
  PUBLIC_LETTER_INSTRUCTIONS,
  PUBLIC_OPENING_PROMPTS,
  PUBLIC_SYSTEM_OPENERS,
  PUBLIC_SYSTEM_SENTENCES,
} from "./public-pools.js";

/** The four pools of probe texts, by their configuration name (`probeTexts.<name>`). */
export const POOL_NAMES = [
  "systemOpeners",
  "systemSentences",
  "letterInstructions",
  "openingPrompts",
] as const;
export type PoolName = (typeof POOL_NAMES)[number];
export type ProbeTextPools = Readonly<Record<PoolName, PhrasePool>>;

/** Slots every pool may use without defining them, filled where the text is used. */
export const FILLED_SLOTS: Readonly<Record<PoolName, readonly string[]>> = {
  systemOpeners: [],
  systemSentences: [],
  letterInstructions: ["letters"],
  openingPrompts: [],
};

/**
 * The texts a probe carries besides its item, drawn from the configured pools (an operator's
 * private ones, or the public defaults): every call draws with the probe's own `rng`, so a run's
 * probes are rebuilt exactly from its seed.
 */
export interface ProbeTexts {
  /** Pools that came from the operator's files (the rest are the public defaults). */
  readonly privatePools: readonly PoolName[];
  /**
   * A system message of at most about `chars` characters (an opener, then further sentences while
   * they fit), or one opener when no length is asked.
   */
  systemMessage(rng: Rng, chars?: number): string;
  /** The request for the letter that ends a letter question with `choices` choices. */
  letterInstruction(rng: Rng, choices: number): string;
  /** A short opening of a sentence, for identity, fingerprint and speed probes. */
  openingPrompt(rng: Rng): string;
}

const LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";

/** A question's letters as people list them: "A, B, C or D", "A–D", "A/B/C/D"… */
export function lettersList(rng: Rng, count: number): string {
  const letters = [...LETTERS.slice(0, Math.max(2, Math.min(count, LETTERS.length)))];
  const last = letters[letters.length - 1]!;
  const head = letters.slice(0, -1);
  const ways = [
    `${head.join(", ")} or ${last}`,
    `${head.join(", ")}${head.length > 1 ? "," : ""} or ${last}`,
    letters.join("/"),
    letters.join(", "),
    ...(letters.length > 2
      ? [`${letters[0]}–${last}`, `${letters[0]} to ${last}`, `${letters[0]}-${last}`]
      : []),
  ];
  return rng.pick(ways);
}

/** The first letter of a text in upper case (templates may start with a lower-case slot). */
const capitalized = (text: string) => text.charAt(0).toUpperCase() + text.slice(1);

/** Probe texts drawn from `pools`; `privatePools` names those the operator supplied. */
export function probeTexts(pools: ProbeTextPools, privatePools: readonly PoolName[] = []): ProbeTexts {
  const one = (name: PoolName, rng: Rng, fill?: Fill) => capitalized(draw(pools[name], rng, fill));
  return {
    privatePools,
    systemMessage(rng, chars) {
      if (chars === undefined) return one("systemOpeners", rng);
      // An opener that fits, else one instruction that does (a short message is often only
      // that), else the shortest drawn; then further sentences while they fit.
      let text: string | undefined;
      let shortest: string | undefined;
      for (let i = 0; i < 24 && text === undefined; i++) {
        const opener = one(i < 12 ? "systemOpeners" : "systemSentences", rng);
        if (opener.length <= chars) text = opener;
        else if (shortest === undefined || opener.length < shortest.length) shortest = opener;
      }
      let out = text ?? shortest!;
      // One paragraph: the gateway's mix counts the lines of the last message only, so a system
      // message's lines could not follow customers'. Each template is tried once, in a random
      // order, so one message never says a thing twice.
      const separator = " ";
      const sentences = pools.systemSentences;
      for (const i of rng.permutation(sentences.templates.length)) {
        if (chars - out.length < 12) break;
        const next = capitalized(tidy(expand(sentences, sentences.templates[i]!, rng)));
        if (out.length + separator.length + next.length <= chars) out = `${out}${separator}${next}`;
      }
      return out;
    },
    letterInstruction: (rng, choices) =>
      one("letterInstructions", rng, { letters: (r) => lettersList(r, choices) }),
    openingPrompt: (rng) => one("openingPrompts", rng),
  };
}

/** The public default pools, parsed (they are checked by the pool tests like an operator's). */
export const PUBLIC_POOLS: ProbeTextPools = {
  systemOpeners: parsePool(PUBLIC_SYSTEM_OPENERS).pool,
  systemSentences: parsePool(PUBLIC_SYSTEM_SENTENCES).pool,
  letterInstructions: parsePool(PUBLIC_LETTER_INSTRUCTIONS, FILLED_SLOTS.letterInstructions).pool,
  openingPrompts: parsePool(PUBLIC_OPENING_PROMPTS).pool,
};

/** The public defaults: what an evaluator without private pools sends (anyone can read them). */
export const PUBLIC_PROBE_TEXTS: ProbeTexts = probeTexts(PUBLIC_POOLS);
