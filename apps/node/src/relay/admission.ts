import { readPngHeader } from "@pocket-ai/png";
import {
  capabilityNeeds,
  checkEmbeddingLimits,
  checkImageLimits,
  checkRelaySession,
  countRelayInput,
  coveredTier,
  type EmbeddingRequest,
  type ErrorCode,
  embeddingInputs,
  imageRequestSize,
  isEmbeddingTier,
  isImageTier,
  isTextTier,
  missingCapability,
  type OpenAIRequestOf,
  operationSupported,
  type ProtocolError,
  parseOpenAIRequest,
  protocolError,
  type RelayInput,
  type RelayRequest,
  type Result,
  relayBudgetOfCounts,
  relayInputs,
  type SessionParams,
  sessionGrace,
  type TextRelayBudget,
  type TextRequestOf,
  type TierSpec,
  uploadPixelBudget,
  utf8Length,
  verifyRelayRequest,
} from "@pocket-ai/protocol";
import { Effect } from "effect";
import type { NodeStoreError } from "../db/node-store-error.js";
import type { RelayStore } from "../db/relay-store.js";
import { engineBody } from "./engine-body.js";
import type { GatewayCounts } from "./gateway-counts.js";
import type { ServedService } from "./served-service.js";

/** A relay that passed every check: the backend may now spend work on it. */
export interface AdmittedRelay {
  readonly request: RelayRequest;
  readonly requestHash: string;
  readonly service: ServedService;
  /**
   * The tier the envelope names (the one the gateway sold): its limits, its timeout and its weight
   * apply to the relay, also when the node registered a dearer tier that covers it.
   */
  readonly tier: TierSpec;
  /** The engine body built from the validated request's schema fields (`engine-body.ts`), `max_tokens` clamped. */
  readonly body: Record<string, unknown>;
  readonly inputTokens: number;
  /** Output tokens allowed over all choices (text) — a response above this is a backend fault. */
  readonly maxOutputTokens: number;
  /** Standard images this call counts as (image services). */
  readonly imageUnits: number;
  /** Image calls: the images the answer must hold (the request's `n`); 0 for other operations. */
  readonly images: number;
  /** Image calls that name their `size` (a gateway always does): the size each image must be. */
  readonly imageSize?: { readonly width: number; readonly height: number } | undefined;
  /** Prompts of a batched completions call (1 otherwise): text is priced, and weighed, per prompt. */
  readonly calls: number;
  /** Text: the choices the answer must hold (prompts × n), numbered from 0; 0 for other operations. */
  readonly choices: number;
  /** Embedding calls: how many vectors of which length the answer must hold. */
  readonly embeddings?: { readonly inputs: number; readonly dimensions: number } | undefined;
}

export type Admission =
  /** The envelope itself cannot be trusted: answered by a transport error, nothing is signed or stored. */
  | { readonly kind: "unverifiable"; readonly error: ProtocolError }
  /** A genuine relay that the node refuses: answered by a signed error response. */
  | {
      readonly kind: "refused";
      readonly request: RelayRequest;
      readonly requestHash: string;
      readonly error: ProtocolError;
    }
  | { readonly kind: "admitted"; readonly relay: AdmittedRelay };

export interface AdmissionContext {
  readonly nodeAddress: string;
  /** Gateways this node serves; empty means any gateway. */
  readonly gateways: ReadonlySet<string>;
  readonly session: SessionParams;
  readonly services: ReadonlyMap<string, ServedService>;
  readonly store: RelayStore;
  /** Whether this node belongs to the session's node set (see `SessionMembership`). */
  readonly inSession: (request: RelayRequest) => boolean;
  readonly now: () => number;
  readonly stream: boolean;
  /** Gateways' signed input counts the node may take instead of tokenizing (absent: it counts every relay). */
  readonly counts?: GatewayCounts | undefined;
}

/**
 * Every check a relay passes before any backend work, in an order where each refusal is cheap:
 * envelope schema and gateway signature; gateway allowed; session current; this node in the
 * session; not a replay (recorded atomically); service, tier (registered, or covered by a
 * registered one: `coveredTier`) and operation served; payload schema; backend capabilities; the protocol's budget rule (`relayBudget`, the gateway's too) with
 * input tokens counted by a real tokenizer, or taken from the gateway's signed count under random
 * audit (`GatewayCounts`). Output is clamped to the tier's limit rather than
 * refused, as the limit is a cap on work.
 */
export function admitRelay(input: unknown, ctx: AdmissionContext): Effect.Effect<Admission, NodeStoreError> {
  return Effect.suspend(() => asEffect(admitRelayNow(input, ctx)));
}

/**
 * {@link admitRelay}'s checks run now: the admission itself when every step was synchronous (one
 * process admitting alone, a payload whose tokens need no asynchronous counter), else the Effect
 * of the steps left. A relay decided at once costs its caller no Effect step.
 */
export function admitRelayNow(
  input: unknown,
  ctx: AdmissionContext,
): Admission | Effect.Effect<Admission, NodeStoreError> {
  const envelope = checkEnvelope(input, ctx);
  if ("kind" in envelope) return envelope;
  const { request, requestHash, now } = envelope;
  const refused = (error: ProtocolError) => refusedAdmission(request, requestHash, error);
  const record: Parameters<RelayStore["admit"]>[0] = {
    requestHash,
    sessionId: request.header.sessionId,
    sessionNumber: request.header.sessionNumber,
    sessionEnd: request.header.sessionEnd,
    serviceId: request.header.serviceId,
    tier: request.tier,
    applicationAddress: request.header.applicationAddress,
    gatewayAddress: request.gateway.address,
    stream: ctx.stream,
    expiresAt: request.header.sessionEnd + sessionGrace(ctx.session),
  };
  const decided = (checked: PayloadCheck): Admission | Effect.Effect<Admission, NodeStoreError> =>
    checked.ok
      ? { kind: "admitted", relay: { ...checked.value, request, requestHash } }
      : Effect.as(ctx.store.refuse(requestHash, checked.error.code, ctx.now()), refused(checked.error));
  const afterRecord = (fresh: boolean): Admission | Effect.Effect<Admission, NodeStoreError> => {
    if (!fresh) return refused(protocolError("REPLAYED_RELAY", `relay ${requestHash} was already received`));
    const checked = payloadCheck(request, ctx);
    return Effect.isEffect(checked)
      ? Effect.flatMap(checked, (value) => asEffect(decided(value)))
      : decided(checked);
  };
  // One process admitting alone decides at once, in this step: no Effect of its own per relay.
  const here = ctx.store.admitHere(record, now);
  if (here === undefined)
    return Effect.flatMap(ctx.store.admit(record, now), (fresh) => asEffect(afterRecord(fresh)));
  return typeof here === "boolean" ? afterRecord(here) : Effect.fail(here);
}

const asEffect = (admission: Admission | Effect.Effect<Admission, NodeStoreError>) =>
  Effect.isEffect(admission) ? admission : Effect.succeed(admission);

const refusedAdmission = (request: RelayRequest, requestHash: string, error: ProtocolError): Admission => ({
  kind: "refused",
  request,
  requestHash,
  error,
});

/**
 * The checks before the replay record, all synchronous: envelope and signature, gateway, session,
 * membership. A refusal, or the verified request with the time its session was checked at.
 */
function checkEnvelope(
  input: unknown,
  ctx: AdmissionContext,
): Admission | { readonly request: RelayRequest; readonly requestHash: string; readonly now: number } {
  const verified = verifyRelayRequest(input, { nodeAddress: ctx.nodeAddress });
  if (!verified.ok) return { kind: "unverifiable", error: verified.error };
  const { request, requestHash } = verified.value;
  const refused = (error: ProtocolError) => refusedAdmission(request, requestHash, error);
  if (ctx.gateways.size > 0 && !ctx.gateways.has(request.gateway.address)) {
    return refused(
      protocolError("UNKNOWN_GATEWAY", `gateway ${request.gateway.address} is not in this node's config`),
    );
  }
  const now = ctx.now();
  const session = checkRelaySession(request.header, ctx.session, now);
  if (!session.ok) return refused(session.error);
  if (!ctx.inSession(request)) {
    return refused(
      protocolError(
        "NOT_IN_SESSION",
        `node ${ctx.nodeAddress} is not selected for session ${request.header.sessionId}`,
      ),
    );
  }
  return { request, requestHash, now };
}

type PayloadCheck =
  | { readonly ok: true; readonly value: Omit<AdmittedRelay, "request" | "requestHash"> }
  | { readonly ok: false; readonly error: ProtocolError };

function refusal(code: ErrorCode, detail?: string, param?: string): PayloadCheck {
  return { ok: false, error: protocolError(code, detail, param) };
}

/** The payload's checks, synchronous but for counting tokens with a counter that is not. */
function payloadCheck(
  request: RelayRequest,
  ctx: AdmissionContext,
): PayloadCheck | Effect.Effect<PayloadCheck> {
  const service = ctx.services.get(request.header.serviceId);
  if (service === undefined)
    return refusal("UNKNOWN_SERVICE", `this node does not serve ${request.header.serviceId}`);
  // The tier the gateway sold and signed: one this node registered, or a cheaper one that a tier
  // it registered covers (a standard node serves batch calls). The relay is served under that
  // tier's limits and weighed by it, never by the registered tier: the node is paid what was sold.
  const tier =
    service.tiers.get(request.tier) ?? coveredTier(service.spec, service.tiers.keys(), request.tier);
  if (tier === undefined) {
    return refusal(
      "UNKNOWN_TIER",
      `this node serves ${service.spec.id} on tiers ${[...service.tiers.keys()].join(", ")} and the cheaper tiers they cover, not ${request.tier}`,
    );
  }
  if (!operationSupported(service.spec, request.operation)) {
    return refusal("UNSUPPORTED_OPERATION", `${service.spec.id} does not offer ${request.operation}`);
  }
  const parsed = parseOpenAIRequest(request.operation, request.payload);
  if (!parsed.ok) return { ok: false, error: parsed.error } as const;
  const caps = service.capabilities;
  if (ctx.stream && !caps.streaming)
    return refusal("UNSUPPORTED_PARAMETER", "this node's backend cannot stream", "stream");

  switch (request.operation) {
    case "completions":
    case "chat.completions": {
      if (!isTextTier(tier)) return refusal("UNSUPPORTED_OPERATION", `${tier.id} is not a text tier`);
      const operation = request.operation;
      const text =
        operation === "completions"
          ? completionsInput(parsed.value as OpenAIRequestOf<"completions">)
          : undefined;
      const chat =
        operation === "chat.completions" ? (parsed.value as OpenAIRequestOf<"chat.completions">) : undefined;
      if (text !== undefined && !caps.completions)
        return refusal("UNSUPPORTED_OPERATION", "this node's backend serves chat only");
      if (chat !== undefined && !caps.chat)
        return refusal("UNSUPPORTED_OPERATION", "this node's backend serves completions only");
      if (text?.wantsPromptLogprobs && !caps.promptLogprobs) {
        return refusal(
          "UNSUPPORTED_PARAMETER",
          "this node's backend returns no prompt logprobs (echo with logprobs)",
          "echo",
        );
      }
      if (chat?.logprobs === true && !caps.logprobs) {
        return refusal("UNSUPPORTED_PARAMETER", "this node's backend returns no logprobs", "logprobs");
      }
      // Several choices, tools, JSON output, token-id prompts: never silently ignored.
      const missing = missingCapability(
        caps,
        capabilityNeeds(operation, parsed.value as unknown as Record<string, unknown>, ctx.stream),
      );
      if (missing !== undefined)
        return refusal(
          "UNSUPPORTED_PARAMETER",
          `this node's backend does not do ${missing.what}`,
          missing.param,
        );
      const textRequest = parsed.value as TextRequestOf<typeof operation>;
      const inputs = relayInputs(operation, textRequest);
      const checked = (budget: Result<TextRelayBudget>): PayloadCheck => {
        if (!budget.ok) return { ok: false, error: budget.error };
        const { inputTokens, maxTokens, maxOutputTokens, prompts, choices } = budget.value;
        const body = engineBody(operation, parsed.value, maxTokens);
        return {
          ok: true,
          value: {
            service,
            tier,
            body,
            inputTokens,
            maxOutputTokens,
            imageUnits: 0,
            images: 0,
            calls: prompts,
            choices,
          },
        };
      };
      const source =
        ctx.counts !== undefined && service.tokens.exact
          ? ctx.counts.sourceFor(request, service.tokens.kind)
          : "node";
      const claimed = request.inputCount?.promptTokens;
      if (source === "gateway" && claimed !== undefined && claimed.length === inputs.length) {
        ctx.counts?.counted("gateway");
        return checked(relayBudgetOfCounts(operation, textRequest, tier, claimed));
      }
      return Effect.map(countTexts(inputs, service), (counted): PayloadCheck => {
        const promptTokens = countRelayInput(inputs, (t) => counted.get(t) ?? upperBound(t));
        if (source !== "node" && claimed !== undefined) {
          // Audited, or a count that does not even list each prompt: compared with the node's own.
          ctx.counts?.counted("audit");
          if (!sameCounts(claimed, promptTokens))
            ctx.counts?.distrust(request.gateway.address, sum(claimed), sum(promptTokens));
        } else {
          ctx.counts?.counted("node");
        }
        return checked(relayBudgetOfCounts(operation, textRequest, tier, promptTokens));
      });
    }
    case "embeddings":
      return checkEmbeddings(service, tier, parsed.value as EmbeddingRequest);
    case "images.generations":
    case "images.edits": {
      if (!isImageTier(tier)) return refusal("UNSUPPORTED_OPERATION", `${tier.id} is not an image tier`);
      if (caps.images === null)
        return refusal("UNSUPPORTED_OPERATION", "this node's backend makes no images");
      const image = parsed.value as OpenAIRequestOf<"images.generations"> & {
        padding?: unknown;
        mask?: unknown;
      };
      const size = imageRequestSize(image as Parameters<typeof imageRequestSize>[0], tier);
      if (!size.ok) return { ok: false, error: size.error } as const;
      const limits = checkImageLimits(tier, {
        ...size.value,
        steps: image.steps ?? undefined,
        n: image.n ?? 1,
      });
      if (!limits.ok) return { ok: false, error: limits.error } as const;
      // Uploads: dimensions from the PNG headers against the tier's pixel budget, before the
      // backend decodes anything (its inflate is capped by those dimensions).
      const budget = uploadPixelBudget(tier.limits);
      for (const field of ["image", "mask"] as const) {
        const value = (image as Record<string, unknown>)[field];
        const refused = typeof value === "string" ? uploadRefusal(field, value, budget) : undefined;
        if (refused !== undefined) return refusal("INVALID_REQUEST", refused, field);
      }
      return {
        ok: true,
        value: {
          service,
          tier,
          body: engineBody(request.operation, parsed.value),
          inputTokens: 0,
          maxOutputTokens: 0,
          imageUnits: limits.value.units,
          images: image.n ?? 1,
          imageSize: typeof image.size === "string" ? size.value : undefined,
          calls: 1,
          choices: 0,
        },
      } as const;
    }
  }
}

const checkEmbeddings = Effect.fnUntraced(function* (
  service: ServedService,
  tier: TierSpec,
  request: EmbeddingRequest,
) {
  if (!isEmbeddingTier(tier)) return refusal("UNSUPPORTED_OPERATION", `${tier.id} is not an embedding tier`);
  const inputs = embeddingInputs(request);
  const counted = yield* countTexts(
    inputs.map((text) => [{ text }]),
    service,
  );
  const limits = checkEmbeddingLimits(
    tier,
    { inputs, dimensions: request.dimensions },
    (text) => counted.get(text) ?? upperBound(text),
  );
  if (!limits.ok) return { ok: false, error: limits.error } as const;
  const { inputTokens } = limits.value;
  const { dimensions } = tier.limits;
  return {
    ok: true,
    value: {
      service,
      tier,
      body: { model: request.model, input: [...inputs], dimensions },
      inputTokens,
      maxOutputTokens: 0,
      imageUnits: 0,
      images: 0,
      calls: 1,
      choices: 0,
      embeddings: { inputs: inputs.length, dimensions },
    },
  } as const;
});

function completionsInput(req: OpenAIRequestOf<"completions">) {
  return { wantsPromptLogprobs: req.echo === true && req.logprobs !== null && req.logprobs !== undefined };
}

const upperBound = utf8Length;

const sum = (counts: readonly number[]) => counts.reduce((a, b) => a + b, 0);

function sameCounts(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((n, i) => n === b[i]);
}

/** Each distinct text of the prompts, counted by the service's tokenizer. */
const countTexts = Effect.fnUntraced(function* (prompts: readonly RelayInput[], service: ServedService) {
  const counts = new Map<string, number>();
  for (const prompt of prompts) {
    for (const part of prompt) {
      if (!("text" in part) || counts.has(part.text)) continue;
      // A counter that fails (a backend tokenize endpoint down) falls back to an upper-bound
      // estimate rather than refusing: bytes are never fewer than tokens.
      const tokens = yield* service.tokens
        .count(part.text)
        .pipe(Effect.orElseSucceed(() => upperBound(part.text)));
      counts.set(part.text, tokens);
    }
  }
  return counts;
});

/** Why a base64 PNG's header is refused against the tier's upload budget (nothing inflated). */
function uploadRefusal(field: string, base64: string, budget: number): string | undefined {
  try {
    const { width, height } = readPngHeader(Buffer.from(base64.slice(0, 44), "base64"));
    if (width === 0 || height === 0 || width * height > budget)
      return `${field}: ${width}x${height} is outside the upload limit of ${budget} pixels`;
    return undefined;
  } catch {
    return `${field}: not a readable PNG`;
  }
}
