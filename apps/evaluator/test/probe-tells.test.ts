import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TrafficMix } from "@pocket-ai/protocol";
import { Effect } from "effect";
import { beforeAll, describe, expect, it } from "vitest";
import { loadProbeTexts } from "../src/probe-text/load-probe-texts.js";
import { POOL_NAMES } from "../src/probe-text/probe-texts.js";
import { drawShape, shapeFields, usableMix } from "../src/runs/probe-shape.js";
import { createRng } from "../src/runs/rng.js";
import { loadSuite } from "../src/tasks/load-task.js";
import type { Task } from "../src/tasks/task-definition.js";
import { type CustomerRelay, customerApp } from "./customer-traffic.js";
import { mixOf, probeRelays, type RelayAtNode } from "./probe-relays.js";
import {
  fixedStringMatcher,
  grammarMatcher,
  publicFragments,
  recurringPhrases,
  textsOf,
} from "./probe-text-matchers.js";

/**
 * What a node runner learns by reading the evaluator's public source, and how well it then tells
 * probes from customers without any statistics: the covert-probe test (`covert-probes.test.ts`)
 * measures request parameters, lengths, applications and timing, never the words of a prompt.
 * The rules it builds are in `probe-text-matchers.ts`.
 */

let tasks: Task[];
let customers: CustomerRelay[];
let mix: TrafficMix;
let probes: RelayAtNode[];
/**
 * The texts of thousands of probes and customers, drawn and matched in this process: seconds of CPU
 * on an idle machine, many times that on a busy one. Time limits only stop a hung test here.
 */
const CPU_BOUND = { timeout: 300_000 };
beforeAll(async () => {
  tasks = await Effect.runPromise(loadSuite([]));
  const rng = createRng(20260311);
  const apps = Array.from({ length: 400 }, (_, i) => customerApp(rng, `pokt1customer${i}`, 1));
  customers = Array.from({ length: 8_000 }, (_, i) => apps[i % apps.length]!.next(rng));
  const usable = usableMix(mixOf(customers));
  if (usable === undefined) throw new Error("the synthetic customers gave no usable mix");
  mix = usable;
  probes = await probeRelays(tasks, mix, 2_000);
}, CPU_BOUND.timeout);

/** Every string inside a parsed task file or document. */
const stringsIn = (value: unknown): string[] =>
  typeof value === "string"
    ? [value]
    : typeof value === "object" && value !== null
      ? Object.values(value).flatMap(stringsIn)
      : [];

const share = (relays: readonly RelayAtNode[], rule: (r: RelayAtNode) => boolean) =>
  relays.filter(rule).length / relays.length;

describe("probe texts from the evaluator's public source", CPU_BOUND, () => {
  it("leave a node that searches relays for the source's fixed strings unable to pick out covert probes", () => {
    const rule = fixedStringMatcher();
    const caught = share(probes, rule);
    const wrong = share(customers, rule);
    console.info(
      `covert probes holding a fixed string of the source: ${(caught * 100).toFixed(1)}% of ${probes.length} (${publicFragments().length} pieces of 3+ words searched); customers: ${(wrong * 100).toFixed(2)}% of ${customers.length}`,
    );
    expect(wrong).toBeLessThan(0.01);
    // 2%: below the 3% of probes a node catches by serving young applications well, the tell
    // accepted elsewhere (docs/security.md, "Probe applications and age"). Before the texts were
    // drawn from pools, 76% of probes held one of the earlier releases' strings.
    expect(caught).toBeLessThanOrEqual(0.02);
  });

  it("never show a regex-scored task's pattern as an earlier reply", () => {
    // Earlier turns are solved examples of the same task; a regex-scored task's target is a
    // pattern (`^(?=…)`), which no one writes as an answer.
    const replies = probes.flatMap((p) => {
      const messages = (p.body.messages ?? []) as { role?: string; content?: unknown }[];
      const shown = messages.filter((m) => m.role === "assistant").map((m) => String(m.content));
      return typeof p.body.prompt === "string" ? [...shown, p.body.prompt] : shown;
    });
    expect(replies.length).toBeGreaterThan(0);
    expect(replies.filter((r) => r.includes("(?=") || r.includes("^(")).length).toBe(0);
  });

  it("repeat no phrase of the evaluator's own across many probes", () => {
    // Phrases of the items themselves recur with their items (and are kept from nodes by varied
    // and private items); what is measured is what the evaluator adds around them.
    const known = tasks
      .flatMap((t) => [t.definition, ...t.docs.map((d) => d.doc)].flatMap(stringsIn))
      .flatMap((s) => s.split(/\{\{[^}]*\}\}|\n/))
      .map((s) => s.trim());
    const top = recurringPhrases(probes, known);
    console.info(
      `most frequent 4-word phrases: ${top.map((p) => `"${p.phrase}" ${(p.share * 100).toFixed(1)}%`).join(", ")}`,
    );
    // A phrase in 2% of probes is in about 0.5% of a node's relays (probes a quarter of them).
    expect(top[0]?.share ?? 0).toBeLessThanOrEqual(0.02);
  });

  it("can be parsed from the public pools, and not once an operator's private pools are configured", async () => {
    const dir = mkdtempSync(join(tmpdir(), "probe-texts-"));
    const files = Object.fromEntries(
      Object.entries(PRIVATE_POOLS).map(([name, text]) => {
        writeFileSync(join(dir, `${name}.txt`), text);
        return [name, join(dir, `${name}.txt`)];
      }),
    );
    const texts = await Effect.runPromise(loadProbeTexts(files));
    expect([...texts.privatePools].sort()).toEqual([...POOL_NAMES].sort());
    const privateProbes = await probeRelays(tasks, mix, 1_000, {}, texts);
    const rule = grammarMatcher();
    const publicCaught = share(probes.slice(0, 1_000), rule);
    const privateCaught = share(privateProbes, rule);
    const wrong = share(customers, rule);
    console.info(
      `probes matching the public pools' grammar: ${(publicCaught * 100).toFixed(1)}% with the public pools, ${(privateCaught * 100).toFixed(1)}% with private ones; customers: ${(wrong * 100).toFixed(2)}%`,
    );
    // The rule works: it reads the public defaults (the reason to configure private pools) ...
    expect(publicCaught).toBeGreaterThan(0.5);
    // ... and finds nothing of theirs in probes drawn from private pools.
    expect(privateCaught).toBeLessThanOrEqual(0.01);
    expect(wrong).toBeLessThan(0.01);
    // Each private pool is what the probes carry.
    const all = privateProbes.flatMap(textsOf).join("\n");
    expect(all).toMatch(/(Welcome|Greetings)[,!] (this is|here is) (the|our) /);
    expect(all).toMatch(/Ledger rule: /);
    expect(all).toMatch(/(Mark|Tick|Circle) (one|a single) (letter|option letter)/);
    expect(all).toMatch(
      /(Ansel|Brann|Corvin|Dagny|Elowen|Fenwick|Gisela|Halvard) (hummed|sketched|juggled|polished|stitched|brewed)/,
    );
  });
});

/** An operator's private pools, in the pool format: wording the public source never shows. */
const PRIVATE_POOLS = {
  systemOpeners: `
(Welcome|Greetings)(,|!) (this is|here is) {desk}(.|!)
[desk]
(the|our) (harbour|orchard|lantern|copper|meadow) (desk|line|room|counter)
`,
  systemSentences: `
Ledger rule: (mind|watch) the (spelling|tone|length|facts) (of|in) (each|every) (reply|message)(.|!)
Ledger rule: (quote|copy) (nothing|little) (verbatim|word for word)(.|!)
Ledger rule: (sign|close) (off|out) (plainly|warmly|briefly)(.|!)
`,
  letterInstructions: `
(Mark|Tick|Circle) (one|a single) (letter|option letter) (and stop|then stop|and nothing else)(.|!)
`,
  openingPrompts: `
{person} (hummed|sketched|juggled|polished|stitched|brewed) {thing}
[person]
(grandpa|the ferryman|auntie|the beekeeper|the tinsmith|the clockmaker|the weaver|the cooper) (Ansel|Brann|Corvin|Dagny|Elowen|Fenwick|Gisela|Halvard)
[thing]
(a|the|some) (lantern|kettle|saddle|quilt|barrel|compass|teapot|ladder)( slowly| again| at dusk| by the fire|)
`,
};

describe("a shape planted in the traffic mix by one customer key", CPU_BOUND, () => {
  it("is not copied into probes (a node that knows the shape would recognise them)", () => {
    // The node runner, as an ordinary customer, sends a shape no one else sends: a temperature,
    // top_p and max_tokens combination of its own. The gateway publishes only shapes that several
    // applications send (`mixOf` mirrors its counter).
    const planted = (i: number): CustomerRelay => ({
      app: "pokt1nodeownerskey",
      operation: "chat.completions",
      body: {
        messages: [{ role: "user", content: `Tell me about item ${i}.` }],
        temperature: 1.35,
        top_p: 0.15,
        max_tokens: 737,
      },
    });
    // One relay of the node runner's for every two of the customers'.
    const mix = usableMix(mixOf([...customers, ...Array.from({ length: 4_000 }, (_, i) => planted(i))]));
    if (mix === undefined) throw new Error("no usable mix");
    const rng = createRng(9);
    let marked = 0;
    const draws = 2_000;
    for (let i = 0; i < draws; i++) {
      const fields = shapeFields(drawShape(mix, rng), rng);
      if (fields.max_tokens === 737 && fields.temperature === 1.35 && fields.top_p === 0.15) marked += 1;
    }
    console.info(`probe shapes carrying the planted marker: ${((marked / draws) * 100).toFixed(1)}%`);
    // Every relay with the marker that the node runner did not send itself is a probe.
    expect(marked / draws).toBeLessThan(0.01);
  });
});
