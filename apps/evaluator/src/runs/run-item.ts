import type { ErrorCode, TrafficShape } from "@pocket-ai/protocol";
import { promptCharsOf } from "@pocket-ai/protocol";
import { Effect } from "effect";
import { errorCodeOf, type ProbeError, ProbeFailed, PromptLogprobsUnsupported } from "../errors.js";
import type { ProbeTransportShape } from "../probe/probe-transport.js";
import { PUBLIC_PROBE_TEXTS } from "../probe-text/probe-texts.js";
import { applyFilters } from "../scoring/filters.js";
import { scoreGeneration } from "../scoring/generate-metrics.js";
import { letterPrompt, parseLetter } from "../scoring/letter-choice.js";
import {
  constantLogprobs,
  continuationTokenLogprobs,
  multipleChoiceScores,
} from "../scoring/loglikelihood.js";
import { buildItem, type ItemRequest } from "../tasks/build-item.js";
import type { Task } from "../tasks/task-definition.js";
import {
  type CovertContext,
  drawPromptLength,
  drawShape,
  type History,
  padPrompt,
  shapedBody,
  turnsCharsOf,
} from "./probe-shape.js";
import type { Rng } from "./rng.js";
import { sha256Hex } from "./rng.js";
import { scoredSampling } from "./sampling.js";

/** What is kept of one item: hashes and a score, never the texts. */
export interface ItemOutcome {
  readonly status: "scored" | "unsupported" | "error";
  /** The task's primary metric (the first of `metric_list`), 0..1; null when not scored. */
  readonly score: number | null;
  readonly promptHash: string;
  readonly responseHash: string | null;
  readonly errorCode: ErrorCode | null;
  readonly probes: number;
  /** Multiple choice: every token of every choice had the same log-probability. */
  readonly constantLogprobs?: boolean;
}

const failed = (
  promptHash: string,
  error: ProbeError | PromptLogprobsUnsupported,
  probes: number,
): ItemOutcome => ({
  status: error._tag === "PromptLogprobsUnsupported" ? "unsupported" : "error",
  score: null,
  promptHash,
  responseHash: null,
  errorCode: errorCodeOf(error),
  probes,
});

function loglikelihoodItem(
  transport: ProbeTransportShape,
  node: { address: string; model: string },
  request: Extract<ItemRequest, { kind: "loglikelihood" }>,
  task: Task,
  rng: Rng,
  covert?: { readonly shape: TrafficShape; readonly context: CovertContext; readonly docIndex: number },
): Effect.Effect<ItemOutcome> {
  const promptHash = sha256Hex(request.context);
  const shape = covert?.shape;
  // Covert runs: solved examples of the task before the item (few-shot, as the harness adds
  // them), the same for every choice, toward a customer prompt length; the choices are scored
  // after the whole context, so the examples never count in a choice's log-likelihood.
  const context =
    covert === undefined
      ? request.context
      : String(
          padPrompt(
            { prompt: request.context },
            drawPromptLength(
              covert.context,
              rng,
              request.context.length + Math.max(...request.continuations.map((c) => c.length)),
              covert.shape,
            ),
            () => {
              const [other] = otherItems(task, covert.docIndex, 1, rng);
              return other?.kind === "loglikelihood"
                ? `${other.context}${other.continuations[other.gold] ?? ""}\n`
                : undefined;
            },
            false,
          ).prompt,
        );
  return Effect.gen(function* () {
    const perToken: number[][] = [];
    for (const continuation of request.continuations) {
      // Only the prompt's log-probabilities are read, so a customer shape's sampling parameters
      // and output length change nothing in the score.
      const body =
        shape === undefined
          ? {
              model: node.model,
              prompt: request.context + continuation,
              max_tokens: 1,
              echo: true,
              logprobs: 1,
              temperature: 0,
              seed: rng.int(2 ** 31),
            }
          : shapedBody(shape, node.model, context + continuation, rng, {
              extra: { echo: true, logprobs: 1 },
              texts: covert?.context.texts,
            });
      const outcome = yield* transport.completions(body, { node: node.address });
      const lp = continuationTokenLogprobs(outcome, context, continuation);
      // A node without prompt logprobs refuses echo with logprobs (UNSUPPORTED_PARAMETER, below);
      // one that answers without them, or without echoing the prompt, failed the item: were it
      // taken for a missing capability, the item would go unscored and the node skip the others.
      if (lp instanceof PromptLogprobsUnsupported)
        return yield* new ProbeFailed({
          code: "INVALID_NODE_RESPONSE",
          status: 200,
          reason: `the node answered echo with logprobs without refusing it, but ${lp.reason.replace(/^the /, "")}`,
        });
      perToken.push(lp);
    }
    const logprobs = perToken.map((t) => t.reduce((a, b) => a + b, 0));
    const delimiter = task.definition.target_delimiter;
    const choices = request.continuations.map((c) =>
      c.startsWith(delimiter) ? c.slice(delimiter.length) : c,
    );
    const { acc, accNorm } = multipleChoiceScores(logprobs, choices, request.gold, rng.next());
    const primary = task.definition.metric_list[0]?.metric === "acc_norm" ? accNorm : acc;
    return {
      status: "scored",
      score: primary,
      promptHash,
      responseHash: sha256Hex(logprobs.map((l) => l.toFixed(3)).join(",")),
      errorCode: null,
      probes: request.continuations.length,
      // All choices alike: scored as a tie (chance); the node is flagged when most items are so.
      constantLogprobs: constantLogprobs(perToken),
    } satisfies ItemOutcome;
  }).pipe(
    Effect.catchAll((error) =>
      // A node that refuses echo + logprobs (llama.cpp, Ollama) answers UNSUPPORTED_PARAMETER (the
      // gateway sanctions one that announced the capability): the item cannot be scored by
      // loglikelihood on it, which is not an error of the node.
      Effect.succeed(
        failed(
          promptHash,
          errorCodeOf(error) === "UNSUPPORTED_PARAMETER"
            ? new PromptLogprobsUnsupported({ reason: "the node refused echo with logprobs" })
            : error,
          1,
        ),
      ),
    ),
  );
}

function generateItem(
  transport: ProbeTransportShape,
  node: { address: string; model: string },
  request: Extract<ItemRequest, { kind: "generate" }>,
  task: Task,
  docIndex: number,
  rng: Rng,
  covert?: CovertContext,
): Effect.Effect<ItemOutcome> {
  const doc = task.docs[docIndex]!.doc;
  const promptHash = sha256Hex(request.prompt);
  const sampling = scoredSampling(rng, request.maxTokens);
  const stop = [...request.until];
  const call = covert
    ? shapedGeneration(
        transport,
        node,
        prose(task, request.prompt),
        stop,
        request.maxTokens,
        rng,
        covert,
        (n) =>
          // A regex-scored task's target is a pattern, not an answer anyone would write: shown as
          // an earlier reply it would mark the probe. Such tasks send no earlier turns.
          task.definition.metric_list[0]?.metric === "regex_match"
            ? []
            : otherItems(task, docIndex, n, rng).flatMap((other) =>
                other.kind === "generate"
                  ? [{ user: prose(task, other.prompt), assistant: other.target }]
                  : [],
              ),
        task.definition.category !== "coding",
      )
    : request.chat
      ? transport
          .chat(
            { model: node.model, messages: [{ role: "user", content: request.prompt }], stop, ...sampling },
            { node: node.address },
          )
          .pipe(Effect.map((o) => o.content))
      : transport
          .completions(
            { model: node.model, prompt: request.prompt, stop, ...sampling },
            { node: node.address },
          )
          .pipe(Effect.map((o) => o.text));
  return call.pipe(
    Effect.flatMap((raw) => {
      const filters = task.definition.filter_list[0]?.filter ?? [];
      const answer = applyFilters(raw, filters);
      const metric = task.definition.metric_list[0]!;
      return scoreGeneration(metric, answer, request.target, {
        prompt: request.prompt,
        rawCompletion: raw,
        doc,
      }).pipe(
        Effect.map(
          (score): ItemOutcome => ({
            status: "scored",
            score,
            promptHash,
            responseHash: sha256Hex(raw),
            errorCode: null,
            probes: 1,
          }),
        ),
      );
    }),
    Effect.catchAll((error) => Effect.succeed(failed(promptHash, error, 1))),
  );
}

/** The characters of a body's prompt (or a chat's last message). */
const lastChars = (body: Record<string, unknown>) =>
  promptCharsOf(body.messages === undefined ? "completions" : "chat.completions", body).chars;

/**
 * Covert runs: a prompt's line breaks become spaces (solved examples stay on lines of their own),
 * as people type questions, except where lines carry meaning (code).
 */
export function prose(task: Task, prompt: string): string {
  if (task.definition.category === "coding") return prompt;
  return prompt
    .split(/\n\s*\n/)
    .map((p) => p.replace(/\s*\n\s*/g, " "))
    .join("\n");
}

/** `n` other items of the task, built as this run presents items (solved examples for earlier turns). */
function otherItems(task: Task, docIndex: number, n: number, rng: Rng): ItemRequest[] {
  const others = task.docs.map((_, i) => i).filter((i) => i !== docIndex);
  return rng.sample(others, Math.min(n, others.length)).map((i) => buildItem(task, i, rng));
}

/** Text cut at the first stop sequence, as the node would have cut it had they been sent. */
export function cutAtStop(text: string, stop: readonly string[]): string {
  let end = text.length;
  for (const s of stop) {
    const at = s === "" ? -1 : text.indexOf(s);
    if (at >= 0 && at < end) end = at;
  }
  return text.slice(0, end);
}

/**
 * A generation in a customer shape drawn from the mix (one that allows the item's output length
 * when customers send such shapes): chat or completions, streamed or not, the shape's sampling
 * parameters; stop sequences are sent only when the shape sends some, else applied here.
 */
function shapedGeneration(
  transport: ProbeTransportShape,
  node: { address: string; model: string },
  prompt: string,
  stop: readonly string[],
  maxTokens: number,
  rng: Rng,
  covert: CovertContext,
  history: History,
  prosePrompts: boolean,
): Effect.Effect<string, ProbeError> {
  const shape = drawShape(
    covert.mix,
    rng,
    (s) =>
      !(s.echo && s.stream) && (s.echo ? covert.echo() : true) && (s.maxTokens ?? maxTokens) >= maxTokens,
  );
  const extra = shape.stop ? { stop: stop.length > 0 ? [...stop] : ["\n\n"] } : {};
  const shaped = shapedBody(shape, node.model, prompt, rng, { extra, history, texts: covert.texts });
  const body = padPrompt(
    shaped,
    drawPromptLength(covert, rng, lastChars(shaped), shape, turnsCharsOf(shaped)),
    () => {
      const [solved] = history(1);
      return solved === undefined ? undefined : `${solved.user} ${solved.assistant}`;
    },
    prosePrompts,
    rng,
    covert.texts,
  );
  const options = { stream: shape.stream };
  const text =
    shape.operation === "chat.completions"
      ? transport.chat(body, { node: node.address }, options).pipe(Effect.map((o) => o.content))
      : transport.completions(body, { node: node.address }, options).pipe(
          // An echoed prompt comes back first: the generation is what follows it.
          Effect.map((o) => (shape.echo && o.text.startsWith(prompt) ? o.text.slice(prompt.length) : o.text)),
        );
  return text.pipe(Effect.map((t) => cutAtStop(t, stop)));
}

/**
 * Multiple choice in a customer shape: through `echo` (scored by log-likelihood) when the drawn
 * shape is one customers send with echo and the node returns prompt log-probabilities; otherwise
 * asked for the letter of the answer in the shape's operation and scored by the generated letter
 * (no letter, or a wrong one, scores 0).
 */
function shapedChoiceItem(
  transport: ProbeTransportShape,
  node: { address: string; model: string },
  request: Extract<ItemRequest, { kind: "loglikelihood" }>,
  task: Task,
  docIndex: number,
  rng: Rng,
  covert: CovertContext,
): Effect.Effect<ItemOutcome> {
  // An echo shape costs one relay per choice: it is kept one time in (choices) so that echo
  // relays are as common among probes as among customers' relays.
  const echoKept = rng.next() < 1 / request.continuations.length;
  const shape = drawShape(
    covert.mix,
    rng,
    (s) => !(s.echo && s.stream) && (!s.echo || (covert.echo() && echoKept)),
  );
  if (shape.echo)
    return loglikelihoodItem(transport, node, request, task, rng, { shape, context: covert, docIndex });
  const delimiter = task.definition.target_delimiter;
  const choices = request.continuations.map((c) => (c.startsWith(delimiter) ? c.slice(delimiter.length) : c));
  const completions = shape.operation === "completions";
  const texts = covert.texts ?? PUBLIC_PROBE_TEXTS;
  const ask = (n: number) => texts.letterInstruction(rng, n);
  const prompt = letterPrompt(request.context, choices, ask(choices.length), completions);
  const promptHash = sha256Hex(request.context);
  const history: History = (n) =>
    otherItems(task, docIndex, n, rng).flatMap((other) => {
      if (other.kind !== "loglikelihood") return [];
      const shown = other.continuations.map((c) => (c.startsWith(delimiter) ? c.slice(delimiter.length) : c));
      const user = letterPrompt(other.context, shown, ask(shown.length), false);
      return [{ user, assistant: "ABCDEFGHIJKLMNOPQRSTUVWXYZ"[other.gold] ?? "A" }];
    });
  const shaped = shapedBody(shape, node.model, prompt, rng, {
    extra: shape.stop ? { stop: ["\n\n"] } : {},
    history,
    texts,
  });
  const body = padPrompt(
    shaped,
    drawPromptLength(covert, rng, lastChars(shaped), shape, turnsCharsOf(shaped)),
    () => {
      const [other] = otherItems(task, docIndex, 1, rng);
      if (other?.kind !== "loglikelihood") return undefined;
      const shown = other.continuations.map((c) => (c.startsWith(delimiter) ? c.slice(delimiter.length) : c));
      const solved = letterPrompt(other.context, shown, ask(shown.length), false);
      return `${solved.replace(/\n/g, " ")} ${"ABCDEFGHIJKLMNOPQRSTUVWXYZ"[other.gold] ?? "A"}`;
    },
    true,
    rng,
    texts,
  );
  const options = { stream: shape.stream };
  const reply = completions
    ? transport.completions(body, { node: node.address }, options).pipe(Effect.map((o) => o.text))
    : transport.chat(body, { node: node.address }, options).pipe(Effect.map((o) => o.content));
  return reply.pipe(
    Effect.map(
      (text): ItemOutcome => ({
        status: "scored",
        score: parseLetter(text, choices.length) === request.gold ? 1 : 0,
        promptHash,
        responseHash: sha256Hex(text),
        errorCode: null,
        probes: 1,
      }),
    ),
    Effect.catchAll((error) => Effect.succeed(failed(promptHash, error, 1))),
  );
}

/**
 * Runs one built item against one node and scores it by the task's primary metric. With a
 * `covert` context (a gateway mix with customer traffic) every request goes out in a customer
 * shape drawn from the mix; without one, in the measuring shapes.
 */
export function runItem(
  transport: ProbeTransportShape,
  node: { address: string; model: string },
  task: Task,
  docIndex: number,
  request: ItemRequest,
  rng: Rng,
  covert?: CovertContext,
): Effect.Effect<ItemOutcome> {
  if (request.kind === "loglikelihood")
    return covert
      ? shapedChoiceItem(transport, node, request, task, docIndex, rng, covert)
      : loglikelihoodItem(transport, node, request, task, rng);
  return generateItem(transport, node, request, task, docIndex, rng, covert);
}
