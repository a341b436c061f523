import { readFileSync } from "node:fs";
import { Effect } from "effect";
import type { ProbeTextFiles } from "../config/evaluator-config.js";
import { EvaluatorConfigError } from "../errors.js";
import { alwaysSays, maxChars, type PhrasePool, parsePool, poolVariety } from "./phrase-grammar.js";
import {
  FILLED_SLOTS,
  POOL_NAMES,
  type PoolName,
  type ProbeTexts,
  PUBLIC_POOLS,
  probeTexts,
} from "./probe-texts.js";

/**
 * What each pool must give. Variety: a pool of few texts repeats them across many probes, and a
 * sentence a node sees again and again from unrelated applications is a tell whether or not it
 * is public. Length: texts must fit the requests they go into (a 200-token input limit; identity
 * prompts stay short openings that the model continues).
 */
export const POOL_RULES: Readonly<
  Record<PoolName, { readonly minVariety: number; readonly maxChars: number; readonly saysLetter?: true }>
> = {
  systemOpeners: { minVariety: 32, maxChars: 200 },
  systemSentences: { minVariety: 128, maxChars: 240 },
  letterInstructions: { minVariety: 64, maxChars: 160, saysLetter: true },
  openingPrompts: { minVariety: 4096, maxChars: 100 },
};

/** The problems of one pool's source (`where` names it in messages), or none. */
export function checkPool(name: PoolName, source: string, where: string = `probeTexts.${name}`) {
  const { pool, problems } = parsePool(source, FILLED_SLOTS[name]);
  const out = problems.map((p) => `${where}, line ${p.line}: ${p.problem}`);
  if (out.length > 0) return { pool, problems: out };
  const rule = POOL_RULES[name];
  pool.templates.forEach((t, i) => {
    const line = pool.templateLines[i]!;
    const longest = maxChars(pool, t);
    if (longest > rule.maxChars)
      out.push(
        `${where}, line ${line}: texts of this template reach ${longest} characters; keep them within ${rule.maxChars}`,
      );
    if (rule.saysLetter && !alwaysSays(pool, t, (s) => /\bletters?\b/i.test(s), ["letters"]))
      out.push(
        `${where}, line ${line}: some texts of this template do not ask for a letter; say "letter" or use {letters} in every alternative, so that replies can be scored`,
      );
  });
  const variety = poolVariety(pool);
  if (variety < rule.minVariety)
    out.push(
      `${where}: the pool makes only ${variety} different texts; give at least ${rule.minVariety} (more templates, or '(a|b)' alternatives), since a text that recurs across many probes gives them away`,
    );
  return { pool, problems: out };
}

/**
 * The probe texts an evaluator sends: each configured file (`probeTexts` in the config, in the
 * pool format of `phrase-grammar.ts`) replaces its public default. Every file is checked before
 * anything is sent; all problems are reported at once (`INVALID_CONFIG`).
 */
export function loadProbeTexts(files: ProbeTextFiles): Effect.Effect<ProbeTexts, EvaluatorConfigError> {
  return Effect.suspend(() => {
    const pools: Record<PoolName, PhrasePool> = { ...PUBLIC_POOLS };
    const chosen: PoolName[] = [];
    const problems: string[] = [];
    for (const name of POOL_NAMES) {
      const file = files[name];
      if (file === undefined) continue;
      let source: string;
      try {
        source = readFileSync(file, "utf8");
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code ?? "unreadable";
        problems.push(`probeTexts.${name}: the file cannot be read (${code}); name a readable pool file`);
        continue;
      }
      const checked = checkPool(name, source);
      problems.push(...checked.problems);
      pools[name] = checked.pool;
      chosen.push(name);
    }
    return problems.length > 0
      ? Effect.fail(new EvaluatorConfigError({ problems }))
      : Effect.succeed(probeTexts(pools, chosen));
  });
}
