import {
  checkEmbeddingLimits,
  checkImageLimits,
  checkRelaySession,
  type EmbeddingRequest,
  type ErrorCode,
  embeddingInputs,
  imageRequestSize,
  isEmbeddingTier,
  isImageTier,
  isTextTier,
  type OpenAIRequestOf,
  parseOpenAIRequest,
  type Result,
  relayBudget,
  type SessionParams,
  sanitizeEngineMessage,
  type TextRequestOf,
  type TokenCounter,
  tokensAtLeast,
  tokensAtMost,
} from "@pocket-ai/protocol";
import { peerText } from "@pocket-ai/runtime";
import { type Route, unmetNeed } from "../routing/route-plan.js";
import { type Blame, isErrorCode, NODE_REFUSAL_TEXT_MAX, NodeRefused } from "./attempt-errors.js";
import type { DispatchRequest } from "./dispatcher.js";

/** What the gateway knows to check a refusal against: the request, where it went, sessions, its clock. */
export interface RefusalCheck {
  readonly route: Route;
  readonly request: DispatchRequest;
  readonly session: SessionParams;
  /** The gateway's clock (Unix ms). */
  readonly now: number;
  /**
   * Counts input tokens as the served service's tokenizer does, when the gateway has it; else an
   * upper bound, so that only a claim the gateway can disprove for every tokenizer is called a lie.
   */
  readonly countInput?: TokenCounter | undefined;
  /** Whether the relay streams (a capability a refusal may be about). */
  readonly stream?: boolean | undefined;
}

/** Codes that blame the request itself: believed only when signed and confirmed by the gateway's own check. */
const CALLER_CODES: ReadonlySet<string> = new Set<ErrorCode>([
  "INVALID_REQUEST",
  "INPUT_TOO_LONG",
  "OUTPUT_TOO_LONG",
  "IMAGE_TOO_LARGE",
  "TOO_MANY_INPUTS",
]);

/** Codes that say the relay's session is over or not begun: the gateway signs again. */
const SESSION_CODES: ReadonlySet<string> = new Set<ErrorCode>(["SESSION_EXPIRED", "WRONG_SESSION"]);

/**
 * The protocol's own verdict on the request, by the rules a node applies before any work: the
 * payload schema, then the budget rule (text) or the image limits. `ok` when it passes.
 */
export function recheckRequest(check: RefusalCheck): Result<unknown> {
  const { request, route } = check;
  const tier = route.servedTier;
  const payload = { ...request.body, model: route.servedServiceId };
  const parsed = parseOpenAIRequest(request.operation, payload);
  if (!parsed.ok) return parsed;
  if (request.operation === "completions" || request.operation === "chat.completions") {
    if (!isTextTier(tier)) return parsed;
    const operation = request.operation;
    return relayBudget(
      operation,
      parsed.value as TextRequestOf<typeof operation>,
      tier,
      check.countInput ?? tokensAtMost,
    );
  }
  if (request.operation === "embeddings") {
    if (!isEmbeddingTier(tier)) return parsed;
    const embedding = parsed.value as EmbeddingRequest;
    return checkEmbeddingLimits(
      tier,
      { inputs: embeddingInputs(embedding), dimensions: embedding.dimensions },
      check.countInput ?? tokensAtMost,
    );
  }
  if (!isImageTier(tier)) return parsed;
  const image = parsed.value as OpenAIRequestOf<"images.edits">;
  const size = imageRequestSize(image, tier);
  if (!size.ok) return size;
  return checkImageLimits(tier, { ...size.value, steps: image.steps ?? undefined, n: image.n ?? 1 });
}

/**
 * Judges a node's refusal. Only a signed refusal can blame the request, and only when the
 * gateway's recheck of the request (`recheckRequest`) fails with the same code — the client then
 * reads that recheck's detail and `param`, never the node's own words; a caller-blaming
 * code that is unsigned or disproved, and any code outside the protocol's table, is a lie: the
 * node is sanctioned and another node tried. A signed `ENGINE_REJECTED` (the node's engine refused
 * the request) goes back to the client with the engine's cleaned reason; it is counted per node, and
 * a node that claims it far more often than its peers is sanctioned. A signed session refusal (`SESSION_EXPIRED`,
 * `WRONG_SESSION`) makes the gateway sign again for another session; everything else is the
 * node's own trouble (busy, backend down, not in session...), tried elsewhere without sanction.
 */
export function judgeRefusal(
  nodeAddress: string,
  refusal: { readonly code: string; readonly detail: string; readonly signed: boolean },
  check: RefusalCheck,
): NodeRefused {
  const { signed } = refusal;
  // The node's own text, held with the refusal for as long as the relay runs, bounded as any
  // refusal's detail is (a protocol code is far shorter, so none is cut into or out of the table).
  const code = peerText(refusal.code, NODE_REFUSAL_TEXT_MAX);
  const detail = peerText(refusal.detail, NODE_REFUSAL_TEXT_MAX);
  const serviceId = check.route.servedServiceId;
  const servedTierId = check.route.servedTier.id;
  const make = (blame: Blame, lie?: string) =>
    new NodeRefused({
      nodeAddress,
      code,
      detail,
      signed,
      blame,
      lie,
      serviceId,
      servedTierId,
    });
  if (!isErrorCode(code)) return make("node", `answered with ${shownCode(code)}, not a protocol error code`);
  if (code === "ENGINE_REJECTED") {
    // The engine's own refusal of a request the gateway's checks admitted: believed when signed
    // (the client gets it as a 400 and no other node runs it), counted per node and service so a
    // node cannot use it to dodge failures at scale (`routing/engine-refusals.ts`).
    if (!signed) return make("node", "blamed the request (ENGINE_REJECTED) without signing it");
    const reason = sanitizeEngineMessage(refusal.detail);
    return new NodeRefused({
      nodeAddress,
      code,
      detail: reason,
      signed,
      blame: "caller",
      serviceId,
      servedTierId,
      clientDetail: reason,
      unproven: true,
    });
  }
  if (CALLER_CODES.has(code)) {
    if (!signed) return make("node", `blamed the request (${code}) without signing it`);
    const recheck = recheckRequest(check);
    if (!recheck.ok && recheck.error.code === code) {
      // Without the node's tokenizer the gateway counts input between bounds: over the limit by
      // the upper bound (UTF-8 bytes) cannot disprove an INPUT_TOO_LONG, over it by the lower
      // bound (words) proves it. In between it is believed as an engine's refusal is (another
      // node is asked first, refusals are counted per node), and the client is told the limit,
      // not the upper bound as if it were the count.
      const proof =
        code === "INPUT_TOO_LONG" && !countsExactly(check)
          ? recheckRequest({ ...check, countInput: tokensAtLeast })
          : recheck;
      const unproven = proof.ok || proof.error.code !== code;
      // Proven, the client is told what the gateway's own check found (e.g. "prompt has 240 input
      // tokens; tier standard allows 200 per prompt", param `prompt`): the node's signature makes
      // its code believable, not its words.
      return new NodeRefused({
        nodeAddress,
        code,
        detail,
        signed,
        blame: "caller",
        serviceId,
        servedTierId,
        clientDetail: unproven ? boundedInputDetail(check) : proof.error.detail,
        param: recheck.error.param,
        ...(unproven ? { unproven } : {}),
      });
    }
    const found = recheck.ok ? "the request passes that check" : `the check says ${recheck.error.code}`;
    return make("node", `signed ${code} but ${found}`);
  }
  if (SESSION_CODES.has(code) && signed) return make("session");
  // A node refuses what its backend cannot do by the capabilities it announced, which the gateway
  // holds: refusing what they cover (prompt logprobs it declared, say) is a lie, which an
  // evaluator would otherwise take for a capability the node lacks and not score.
  if (CAPABILITY_CODES.has(code)) {
    const offer = check.route.node.offers.get(serviceId);
    if (
      offer !== undefined &&
      unmetNeed(offer.capabilities, check.request, check.stream ?? false) === undefined
    )
      return make("node", `refused with ${code} a request its announced capabilities cover`);
  }
  return make("node");
}

/** Codes a node refuses with for what its backend cannot do. */
const CAPABILITY_CODES: ReadonlySet<string> = new Set<ErrorCode>([
  "UNSUPPORTED_PARAMETER",
  "UNSUPPORTED_OPERATION",
]);

/** Whether the recheck counts input tokens as the serving node does (else it counts an upper bound). */
const countsExactly = (check: RefusalCheck): boolean =>
  check.countInput !== undefined && check.countInput !== tokensAtMost;

/** What the client reads of an INPUT_TOO_LONG the gateway could only bound: the limit, not a count. */
function boundedInputDetail(check: RefusalCheck): string {
  const tier = check.route.servedTier;
  const limit = isTextTier(tier)
    ? `${tier.limits.maxInputTokens} input tokens per prompt`
    : isEmbeddingTier(tier)
      ? `${tier.limits.maxTokensPerInput} tokens per input`
      : "input limit";
  return `the input is longer than the tier's ${limit} by the serving model's tokenizer`;
}

/**
 * When to plan the retry of a relay the node refused for its session: the session after the
 * refused one when the node says it is over, the one before when the node says it has not begun
 * (the node's clock runs behind), the gateway's own clock otherwise — never more than one session
 * away from the gateway's clock.
 */
export function replanTime(check: RefusalCheck, refused: NodeRefused): number {
  const header = check.route.header;
  const own = checkRelaySession(header, check.session, check.now);
  if (refused.code === "SESSION_EXPIRED") return Math.max(check.now, header.sessionEnd);
  if (refused.code === "WRONG_SESSION" && own.ok) return Math.min(check.now, header.sessionStart - 1);
  return check.now;
}

/**
 * A code that is none of the protocol's, as the operator's pages may show it: its first 64
 * characters, each that is not a letter, digit, `_`, `.` or `-` written as `?` (the node's text,
 * which could hold line breaks, terminal escapes or a right-to-left override).
 */
function shownCode(code: string): string {
  return code.slice(0, 64).replace(/[^\w.-]/g, "?");
}
