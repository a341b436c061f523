import { createHash } from "node:crypto";
import { choicesOf, goldOf } from "../src/tasks/build-item.js";
import type { Task } from "../src/tasks/task-definition.js";
import { render } from "../src/tasks/template.js";

/**
 * A cheating node with no model at all: it holds the repository's answer key — every public item's
 * text as the task renders it, with its gold choice or target — and answers by looking the prompt
 * up, answers the key's gold when an item matches, and otherwise answers at random: its score
 * above chance is exactly what the key buys it.
 */
export interface AnswerKeyNode {
  /** The response body for a request, as an OpenAI-compatible node would send it. */
  respond(operation: string, body: Record<string, unknown>): unknown;
  /** Requests answered from the key (a match) and at random. */
  readonly hits: () => number;
  readonly misses: () => number;
}

const unit = (text: string) => createHash("sha256").update(text).digest().readUInt32BE(0) / 2 ** 32;

/** Splits a text into word-ish tokens with their character offsets. */
function tokensOf(text: string): { token: string; offset: number }[] {
  return [...text.matchAll(/\s*\S+|\s+$/g)].map((m) => ({ token: m[0], offset: m.index }));
}

/**
 * `exact`: the prompt must be the item as the task renders it with no examples (a cache of the
 * prompts a previous evaluator sent byte for byte); `suffix`: the prompt must end with it.
 */
export function answerKeyNode(tasks: readonly Task[], match: "exact" | "suffix"): AnswerKeyNode {
  const fits = (prompt: string, ending: string) =>
    match === "exact" ? prompt.trimEnd() === ending.trimEnd() : prompt.trimEnd().endsWith(ending.trimEnd());
  const choiceKey: { readonly ending: string; readonly choiceAt: number; readonly gold: boolean }[] = [];
  const textKey: { readonly ending: string; readonly answer: string }[] = [];
  for (const task of tasks) {
    const def = task.definition;
    for (const { doc } of task.docs) {
      const prefix = def.description === "" ? "" : `${def.description}${def.fewshot_delimiter}`;
      const text = prefix + render(def.doc_to_text, doc);
      if (def.output_type === "multiple_choice") {
        const choices = choicesOf(def, doc);
        const gold = goldOf(def, doc, choices);
        choices.forEach((choice, i) => {
          choiceKey.push({
            ending: `${text}${def.target_delimiter}${choice}`,
            choiceAt: text.length,
            gold: i === gold,
          });
        });
      } else {
        const keyword = typeof doc.keyword === "string" ? doc.keyword : undefined;
        textKey.push({ ending: text, answer: ` ${keyword ?? render(def.doc_to_target, doc)}` });
      }
    }
  }
  let hits = 0;
  let misses = 0;

  const echo = (prompt: string) => {
    const entry = choiceKey.find((k) => fits(prompt, k.ending));
    if (entry === undefined) misses += 1;
    else hits += 1;
    const choiceStart =
      entry === undefined ? prompt.length : prompt.length - entry.ending.length + entry.choiceAt;
    const tokens = tokensOf(prompt);
    return {
      text: prompt,
      logprobs: {
        tokens: tokens.map((t) => t.token),
        token_logprobs: tokens.map((t, i) =>
          i === 0
            ? null
            : entry !== undefined && t.offset >= choiceStart
              ? entry.gold
                ? -0.05
                : -12
              : -1 - 8 * unit(`${prompt}\u0000${i}`),
        ),
        text_offset: tokens.map((t) => t.offset),
        top_logprobs: null,
      },
    };
  };

  const answer = (prompt: string) => {
    const entry = textKey.find((k) => fits(prompt, k.ending));
    if (entry === undefined) {
      misses += 1;
      return " I am not sure.";
    }
    hits += 1;
    return entry.answer;
  };

  return {
    hits: () => hits,
    misses: () => misses,
    respond(operation, body) {
      const usage = { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 };
      if (operation === "chat.completions") {
        const messages = Array.isArray(body.messages) ? (body.messages as { content?: unknown }[]) : [];
        const last = String(messages.at(-1)?.content ?? "");
        return {
          id: "chatcmpl-key",
          object: "chat.completion",
          created: 0,
          model: String(body.model),
          choices: [
            { index: 0, message: { role: "assistant", content: answer(last).trim() }, finish_reason: "stop" },
          ],
          usage,
        };
      }
      const prompt = String(body.prompt ?? "");
      const choice =
        body.echo === true
          ? { index: 0, ...echo(prompt), finish_reason: "length" }
          : { index: 0, text: answer(prompt), logprobs: null, finish_reason: "stop" };
      return {
        id: "cmpl-key",
        object: "text_completion",
        created: 0,
        model: String(body.model),
        choices: [choice],
        usage,
      };
    },
  };
}
