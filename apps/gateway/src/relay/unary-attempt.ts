import { bytesToHex, type RelayResponse, type RelayUsage, relayLeafHash } from "@pocket-ai/protocol";
import { CancelToken } from "@pocket-ai/runtime";
import type { LatencyKind } from "../routing/node-stats.js";
import type { Route } from "../routing/route-plan.js";
import { relayTimeoutMs } from "../routing/routing-config.js";
import { refusal } from "./answer-refusal.js";
import { type AttemptContext, noteFailure, noteSuccess } from "./attempt-context.js";
import {
  type AttemptFailure,
  invalidAnswer,
  mayHaveReached,
  NodeUnreachable,
  transportFailure,
  unreachable,
} from "./attempt-errors.js";
import { countedUsage } from "./counted-usage.js";
import type { DispatchRequest, RelayRecord } from "./dispatcher.js";
import { judgeRefusal, type RefusalCheck } from "./judge-refusal.js";
import { answerLimits, signRelay } from "./relay-envelope.js";
import {
  believedUsage,
  DeliveredText,
  echoesPrompt,
  outputOverrun,
  routeTokens,
  usageInflated,
} from "./route-tokens.js";
import { imagesMismatch, verifyAnswer } from "./verify-answer.js";

export interface UnaryAnswer {
  readonly payload: Record<string, unknown>;
  readonly record: Omit<RelayRecord, "attempts">;
}

/** How one attempt ended: its answer, its failure (already counted in the node's stats), or a defect. */
export type AttemptResult =
  | { readonly ok: true; readonly answer: UnaryAnswer }
  | { readonly ok: false; readonly failure: AttemptFailure }
  | { readonly defect: unknown };

/**
 * Starts one unary relay to one node: sign, send with the tier's timeout (a timer that aborts the
 * HTTP request, not a racing fiber), verify as the answer arrives. `done` is called once with the
 * result, every failure already counted in the node's stats, unless the returned function cancels
 * the attempt first: that aborts the HTTP request (a hedge's loser, a client gone), so the node
 * stops too, and nothing is counted. Plain callbacks: the hedge of a slow relay races two of these
 * without a fiber per side (see `dispatcher-live.ts`).
 */
export function startUnaryAttempt(
  ctx: AttemptContext,
  route: Route,
  request: DispatchRequest,
  kind: LatencyKind,
  done: (result: AttemptResult) => void,
): () => void {
  let finished = false;
  const end = (result: AttemptResult) => {
    if (finished) return;
    finished = true;
    done(result);
  };
  const fail = (failure: AttemptFailure) => {
    noteFailure(ctx, failure, { route, request });
    end({ ok: false, failure });
  };
  /** A failure after which the node may hold an answer this gateway records nothing of. */
  const failAbandoned = (failure: AttemptFailure) => {
    ctx.abandonedAttempt(route, requestHash);
    fail(failure);
  };
  let sent: ReturnType<typeof sendAttempt>;
  try {
    sent = sendAttempt(ctx, route, request);
  } catch (defect) {
    end({ defect });
    return () => undefined;
  }
  const { envelope, requestHash, timeoutMs, client, started, check } = sent;
  const address = route.node.address;
  // A cancel token, not an AbortController: nothing but this attempt aborts its call.
  const cancel = new CancelToken();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    cancel.cancel(new Error(`no answer in ${timeoutMs} ms`));
  }, timeoutMs);
  // Every reaction guarded: a throw (a bug) ends the attempt as a defect, never as an unhandled
  // rejection.
  const guarded = (f: () => void) => {
    if (finished) return;
    try {
      f();
    } catch (defect) {
      end({ defect });
    }
  };
  const settle = (f: () => void) => {
    clearTimeout(timer);
    guarded(f);
  };
  const succeed = (answer: UnaryAnswer, latencyMs: number) => {
    noteSuccess(ctx, route, kind, latencyMs);
    end({ ok: true, answer });
  };
  // Whether the node's answer came: a relay given up on before it did (see the cancel below) tells
  // the node's latency was at least the wait.
  let answered = false;
  client.relay.mutate(envelope, { cancel }).then(
    (raw) =>
      settle(() => {
        answered = true;
        const latencyMs = performance.now() - started;
        const checked = checkAnswer(route, request, raw, { requestHash, check });
        // A refused answer is recorded nowhere here: the node's claim must not keep it either. A
        // coded refusal the node signed is no leaf of its claim already.
        if (!checked.ok)
          return checked.failure._tag === "InvalidNodeResponse"
            ? failAbandoned(checked.failure)
            : fail(checked.failure);
        if (checked.images === undefined) return succeed(checked.answer, latencyMs);
        // An image answer's PNGs inflate off the event loop; a hedge's loser cancelled meanwhile
        // (`finished`) is dropped uncounted, as before its answer came.
        checked.images.then(
          (wrong) =>
            guarded(() =>
              wrong === undefined
                ? succeed(checked.answer, latencyMs)
                : failAbandoned(invalidAnswer(address, refusal("IMAGES", wrong))),
            ),
          (defect: unknown) => guarded(() => end({ defect })),
        );
      }),
    (e: unknown) =>
      settle(() => {
        if (timedOut) {
          failAbandoned(
            new NodeUnreachable({
              nodeAddress: address,
              timedOut: true,
              detail: `no answer in ${timeoutMs} ms`,
            }),
          );
          return;
        }
        const coded = transportFailure(e);
        if (coded !== undefined) return fail(judgeRefusal(address, { ...coded, signed: false }, check));
        // A connection lost as the answer came: the node may have answered and recorded it.
        return mayHaveReached(e) ? failAbandoned(unreachable(address, e)) : fail(unreachable(address, e));
      }),
  );
  return () => {
    if (finished) return;
    finished = true;
    clearTimeout(timer);
    // Cancelled before its answer came (its client left, another node answered first).
    if (!answered) ctx.selector.stats.waited(address, kind, performance.now() - started);
    cancel.cancel(new Error("the relay was interrupted"));
    ctx.abandonedAttempt(route, requestHash);
  };
}

/** The signed envelope of an attempt and what its answer is checked with. */
function sendAttempt(ctx: AttemptContext, route: Route, request: DispatchRequest) {
  const { envelope, requestHash } = signRelay(ctx.key, route, request, false, ctx.now());
  return {
    envelope,
    requestHash,
    timeoutMs: relayTimeoutMs(ctx.settings, route.servedServiceId, route.servedTier),
    client: ctx.clients.get(route.node.endpoint),
    started: performance.now(),
    check: refusalCheck(ctx, route, request),
  };
}

type Checked =
  | {
      readonly ok: true;
      readonly answer: UnaryAnswer;
      /** An image answer's PNG check, still running (see `imagesMismatch`); absent for any other. */
      readonly images?: Promise<string | undefined> | undefined;
    }
  | { readonly ok: false; readonly failure: AttemptFailure };

/**
 * A node's answer verified (signature, hash, schema, limits), its delivered tokens counted, and its
 * usage believed up to that count; a refusal it signed judged. An image answer's PNGs are left
 * checking (`images`): the answer stands only once that check finds nothing.
 */
function checkAnswer(
  route: Route,
  request: DispatchRequest,
  raw: RelayResponse,
  sent: { readonly requestHash: string; readonly check: RefusalCheck },
): Checked {
  const { requestHash, check } = sent;
  const address = route.node.address;
  const limits = answerLimits(route, request);
  const checked = verifyAnswer(raw, {
    requestHash,
    nodeAddress: address,
    header: route.header,
    operation: request.operation,
    limits,
  });
  if (checked._tag === "SignedRefusal")
    return { ok: false, failure: judgeRefusal(address, { ...checked, signed: true }, check) };
  if (checked._tag === "InvalidNodeResponse") return { ok: false, failure: checked };
  const unscored = promptLogprobsMissing(request, checked.payload);
  if (unscored !== undefined)
    return { ok: false, failure: invalidAnswer(address, refusal("PROMPT_LOGPROBS", unscored)) };
  const { response, responseHash } = checked;
  // The gateway counts what the answer delivers itself: an answer longer than asked is refused
  // (and tried elsewhere), and the node's usage is believed only up to that count.
  const tokens = routeTokens(route);
  const text = new DeliveredText();
  if (limits.maxImages === 0) text.add(checked.payload);
  const counted = limits.maxImages === 0 && !echoesPrompt(request);
  const overrun = counted ? outputOverrun(text, tokens, limits) : undefined;
  if (overrun !== undefined)
    return { ok: false, failure: invalidAnswer(address, refusal("OUTPUT_OVER_LIMIT", overrun)) };
  const inflated = counted ? usageInflated(response.usage, text, limits) : undefined;
  if (inflated !== undefined)
    return { ok: false, failure: invalidAnswer(address, refusal("USAGE_INFLATED", inflated)) };
  const usage = believedUsage(response.usage, text, route, request, tokens, limits);
  return {
    ok: true,
    images: imagesMismatch(checked.payload, limits),
    answer: {
      payload: clientPayload(checked.payload, request, usage),
      record: {
        requestHash,
        nodeAddress: address,
        servedServiceId: route.servedServiceId,
        servedTierId: route.servedTier.id,
        sessionId: route.header.sessionId,
        sessionNumber: route.header.sessionNumber,
        leafHash: bytesToHex(relayLeafHash(requestHash, responseHash)),
        computeUnits: response.computeUnits,
        usage,
      },
    },
  };
}

/**
 * The answer as the client reads it: the public model name, and a text or embeddings answer's
 * `usage` the tokens the gateway counted and charges (`countedUsage`), not the node's own figures.
 * An image answer's payload holds the images only.
 */
function clientPayload(
  payload: Record<string, unknown>,
  request: DispatchRequest,
  usage: RelayUsage,
): Record<string, unknown> {
  const model = request.target.modelName;
  const operation = request.operation;
  if (operation === "images.generations" || operation === "images.edits") return { ...payload, model };
  return { ...payload, model, usage: countedUsage(payload.usage, usage, operation === "embeddings") };
}

/**
 * Why an answer to a completion that asked for the prompt's log-probabilities (`echo` with
 * `logprobs`) does not hold them, or `undefined`: a node that cannot score a prompt refuses such a
 * request (`UNSUPPORTED_PARAMETER`); one that answers without them ignored a parameter, and an
 * evaluator would take the item for one it cannot ask.
 */
function promptLogprobsMissing(
  request: DispatchRequest,
  payload: Record<string, unknown>,
): string | undefined {
  if (request.operation !== "completions" || request.body.echo !== true) return undefined;
  if (request.body.logprobs === undefined || request.body.logprobs === null) return undefined;
  // An empty prompt has no token to score: an honest engine answers without prompt logprobs.
  const prompt = request.body.prompt;
  const prompts = Array.isArray(prompt) && !prompt.every((p) => typeof p === "number") ? prompt : [prompt];
  if (prompts.some((p) => p === "" || (Array.isArray(p) && p.length === 0))) return undefined;
  const choices = Array.isArray(payload.choices) ? payload.choices : [];
  for (const [i, choice] of choices.entries()) {
    const scores = (choice as { logprobs?: { token_logprobs?: unknown } } | null)?.logprobs?.token_logprobs;
    if (!Array.isArray(scores) || scores.length === 0)
      return `choice ${i} has no token logprobs, though the prompt's were asked (echo with logprobs)`;
    // The first token has nothing before it to be scored by; every other one has a number.
    if (scores.slice(1).some((score) => typeof score !== "number" || !Number.isFinite(score)))
      return `choice ${i} leaves token logprobs out, though the prompt's were asked (echo with logprobs)`;
  }
  return undefined;
}

/** What a refusal from `route` is checked against: the request, the session rules, the gateway's clock. */
export function refusalCheck(
  ctx: AttemptContext,
  route: Route,
  request: DispatchRequest,
  stream = false,
): RefusalCheck {
  return {
    route,
    request,
    session: ctx.settings.session,
    now: ctx.now(),
    countInput: routeTokens(route).countInput,
    stream,
  };
}
