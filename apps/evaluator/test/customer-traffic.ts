import type { Rng } from "../src/runs/rng.js";

/**
 * A synthetic customer traffic mix, the reference the covert-probe test measures probes against.
 * Its assumptions are stated in docs/evaluator.md ("Covert probes"): application kinds and their
 * shares, each application's fixed client settings (temperature, max_tokens, top_p, streaming,
 * system prompt, seed, stop sequences), conversation depth, prompt lengths within the text tiers'
 * 200-token input limit, and Poisson arrivals at Zipf-distributed application rates.
 */
export interface CustomerRelay {
  readonly app: string;
  readonly operation: "completions" | "chat.completions";
  readonly body: Record<string, unknown>;
}

type Kind = "assistant" | "rag" | "tool" | "classifier" | "eval";

export interface CustomerApp {
  readonly address: string;
  readonly kind: Kind;
  /** Relays per second. */
  readonly rate: number;
  readonly next: (rng: Rng) => CustomerRelay;
}

const KINDS: readonly (readonly [Kind, number])[] = [
  ["assistant", 0.5],
  ["rag", 0.15],
  ["tool", 0.15],
  ["classifier", 0.12],
  ["eval", 0.08],
];

const WORDS =
  "the a of to and in is for on with that this it as be by are from at or an was which can your what how why when please explain summarize list write code function data model answer question text user value table report order customer email product service time number result example".split(
    " ",
  );

/** Text of about `chars` characters in `lines` lines (the node sees length and line structure). */
export function filler(rng: Rng, chars: number, lines: number): string {
  const out: string[] = [];
  const perLine = Math.max(8, Math.floor(chars / Math.max(1, lines)));
  for (let l = 0; l < Math.max(1, lines); l++) {
    let line = "";
    while (line.length < perLine) line += `${rng.pick(WORDS)} `;
    out.push(line.trimEnd());
  }
  return out.join("\n");
}

const logNormal = (rng: Rng, median: number, sigma: number) => {
  const u = Math.max(1e-12, rng.next());
  const v = rng.next();
  return median * Math.exp(sigma * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v));
};

const weighted = <A>(rng: Rng, options: readonly (readonly [A, number])[]): A => {
  const total = options.reduce((s, [, w]) => s + w, 0);
  let at = rng.next() * total;
  for (const [value, w] of options) {
    at -= w;
    if (at < 0) return value;
  }
  return options[options.length - 1]![0];
};

/** A prompt's length: prompts stay under the 200-token input limit (about 800 characters). */
const promptChars = (rng: Rng, median: number) =>
  Math.min(780, Math.max(12, Math.round(logNormal(rng, median, 0.8))));

/** One customer application with its own fixed client settings. */
export function customerApp(rng: Rng, address: string, rate: number): CustomerApp {
  const kind = weighted(rng, KINDS);
  const maybe = <A>(p: number, value: A): A | undefined => (rng.next() < p ? value : undefined);
  const temperature: number | undefined = {
    assistant: () =>
      weighted<number | undefined>(rng, [
        [undefined, 3],
        [0.7, 3],
        [1, 1],
        [0.5, 1],
        [0.8, 1],
        [0.2, 1],
      ]),
    rag: () =>
      weighted<number | undefined>(rng, [
        [0, 2],
        [0.1, 1],
        [0.2, 2],
        [0.3, 1],
        [undefined, 1],
      ]),
    tool: () =>
      weighted<number | undefined>(rng, [
        [0, 2],
        [0.2, 2],
        [0.5, 1],
        [0.7, 1],
        [undefined, 1],
      ]),
    classifier: () =>
      weighted<number | undefined>(rng, [
        [0, 6],
        [undefined, 1],
        [0.1, 1],
      ]),
    eval: () => 0,
  }[kind]();
  const maxTokens: number | undefined = {
    assistant: () =>
      weighted<number | undefined>(rng, [
        [undefined, 4],
        [256, 2],
        [512, 2],
        [1000, 1],
        [800, 1],
      ]),
    rag: () =>
      weighted<number | undefined>(rng, [
        [256, 2],
        [512, 2],
        [undefined, 1],
      ]),
    tool: () =>
      weighted<number | undefined>(rng, [
        [16, 1],
        [32, 1],
        [64, 2],
        [128, 2],
        [256, 1],
      ]),
    classifier: () =>
      weighted<number | undefined>(rng, [
        [5, 1],
        [10, 2],
        [16, 2],
        [32, 1],
        [64, 1],
      ]),
    eval: () => 256,
  }[kind]();
  const topP = maybe(0.2, rng.pick([0.9, 0.95, 1]));
  const stream = rng.next() < { assistant: 0.6, rag: 0.5, tool: 0.1, classifier: 0.05, eval: 0 }[kind];
  const system = rng.next() < { assistant: 0.5, rag: 0.9, tool: 0, classifier: 0.9, eval: 0 }[kind];
  const seed = kind !== "eval" && rng.next() < 0.06;
  const stop = rng.next() < { assistant: 0.05, rag: 0.05, tool: 0.5, classifier: 0.2, eval: 1 }[kind];
  const chat =
    kind === "assistant" || kind === "rag" || kind === "classifier" || (kind === "tool" && rng.next() < 0.3);
  const median = { assistant: 160, rag: 500, tool: 220, classifier: 260, eval: 330 }[kind];

  const sampling = (): Record<string, unknown> => ({
    ...(temperature === undefined ? {} : { temperature }),
    ...(maxTokens === undefined ? {} : { max_tokens: maxTokens }),
    ...(topP === undefined ? {} : { top_p: topP }),
    ...(seed ? { seed: rng.int(2 ** 31) } : {}),
    ...(stop ? { stop: kind === "eval" ? ["\n\n", "Question:"] : ["\n\n"] } : {}),
    ...(stream ? { stream: true } : {}),
  });
  const next = (r: Rng): CustomerRelay => {
    const chars = promptChars(r, median);
    // Prose runs about 250 characters a line; a quarter of prompts are structured (code, lists,
    // pasted tables, few-shot examples) at about 40 characters a line.
    const structured = kind === "eval" || r.next() < 0.25;
    const lines = 1 + Math.floor(r.next() * 2 * (chars / (structured ? 40 : 250)));
    if (kind === "eval") {
      // An lm-evaluation-harness user: loglikelihood requests (echo, one token) and generations.
      const prompt = filler(r, chars, lines);
      return r.next() < 0.6
        ? {
            app: address,
            operation: "completions",
            body: { prompt, echo: true, logprobs: 1, max_tokens: 1, temperature: 0 },
          }
        : { app: address, operation: "completions", body: { prompt, ...sampling() } };
    }
    if (!chat)
      return {
        app: address,
        operation: "completions",
        body: { prompt: filler(r, chars, lines), ...sampling() },
      };
    const turns =
      kind === "assistant"
        ? weighted(r, [
            [0, 5],
            [2, 2],
            [4, 1],
            [6, 1],
          ])
        : kind === "rag"
          ? weighted(r, [
              [0, 4],
              [2, 1],
            ])
          : 0;
    const messages: { role: string; content: string }[] = [];
    if (system) messages.push({ role: "system", content: filler(r, 60 + r.int(200), 1) });
    for (let t = 0; t < turns; t++)
      messages.push({
        role: t % 2 === 0 ? "user" : "assistant",
        content: filler(r, promptChars(r, 120), 1 + r.int(3)),
      });
    messages.push({ role: "user", content: filler(r, chars, lines) });
    // A conversation over the 200-token input limit is refused by the node: clients drop the
    // oldest turns, then shorten the prompt, to stay within about 780 characters.
    const size = () => messages.reduce((sum, m) => sum + m.content.length, 0);
    while (size() > 780 && messages.length > (system ? 2 : 1)) messages.splice(system ? 1 : 0, 1);
    const last = messages[messages.length - 1]!;
    if (size() > 780)
      last.content = last.content.slice(0, Math.max(12, last.content.length - (size() - 780)));
    return { app: address, operation: "chat.completions", body: { messages, ...sampling() } };
  };
  return { address, kind, rate, next };
}
