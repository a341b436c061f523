import {
  chatMaxTokens,
  clampMaxTokens,
  createRelayRequest,
  isTextTier,
  type KeyPair,
  promptText,
  type RelayRequest,
  relayRequestHash,
} from "@pocket-ai/protocol";
import type { Route } from "../routing/route-plan.js";
import type { DispatchRequest } from "./dispatcher.js";

export interface SignedRelay {
  readonly envelope: RelayRequest;
  readonly requestHash: string;
}

/**
 * Signs the relay for one route: the route's session header and served tier, the caller's body
 * with `model` set to the served service id, a fresh nonce, and the chosen node as target (a
 * node cannot tell an evaluator's relay from any other: every relay names its target).
 */
export function signRelay(
  key: KeyPair,
  route: Route,
  request: DispatchRequest,
  stream: boolean,
  now: number,
): SignedRelay {
  const { stream: _s, stream_options: _o, ...rest } = request.body;
  const payload: Record<string, unknown> = { ...rest, model: route.servedServiceId };
  if (stream) payload.stream = true;
  const envelope = createRelayRequest(
    {
      header: route.header,
      tier: route.servedTier.id,
      operation: request.operation,
      payload,
      issuedAt: now,
      target: route.node.address,
    },
    key,
  );
  return { envelope, requestHash: relayRequestHash(envelope) };
}

/** What a verified answer may claim: output tokens (text, all choices) and images (image calls). */
export interface AnswerLimits {
  readonly maxOutputTokens: number;
  readonly maxImages: number;
  /** Highest compute units the answer may carry. */
  readonly maxComputeUnits: number;
}

const count = (v: unknown, fallback: number) =>
  typeof v === "number" && Number.isSafeInteger(v) && v >= 0 ? v : fallback;

/** The limits of an answer, from the body and the served tier (the node clamps `max_tokens` the same way). */
export function answerLimits(route: Route, request: DispatchRequest): AnswerLimits {
  const tier = route.servedTier;
  const body = request.body;
  const n = Math.max(1, count(body.n, 1));
  if (!isTextTier(tier)) {
    const l = tier.limits;
    const units =
      Math.max(1, Math.ceil((l.maxWidth * l.maxHeight) / (l.standardWidth * l.standardHeight))) * n;
    return { maxOutputTokens: 0, maxImages: n, maxComputeUnits: tier.computeUnitsPerRelay * units };
  }
  let prompts = 1;
  if (request.operation === "completions" && body.prompt !== undefined) {
    prompts = Math.max(1, promptText(body as { prompt: string }).length);
  }
  const choices = prompts * n;
  const asked =
    request.operation === "chat.completions"
      ? chatMaxTokens(body as { max_tokens?: number; max_completion_tokens?: number })
      : typeof body.max_tokens === "number"
        ? body.max_tokens
        : undefined;
  const maxOutputTokens = clampMaxTokens(tier, asked, choices) * choices;
  // Per-call weight, or per-token weight which never exceeds a few times the per-call weight.
  return { maxOutputTokens, maxImages: 0, maxComputeUnits: tier.computeUnitsPerRelay * 4 };
}
