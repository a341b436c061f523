import type { OrganicSample, TrafficMix } from "@pocket-ai/protocol";
import { Context, type Effect } from "effect";
import type { GatewayUnavailable, ProbeError } from "../errors.js";

/** Which node a probe must reach; absent means "any node the gateway picks". */
export interface ProbeTarget {
  readonly node?: string | undefined;
}

/** Wall-clock facts of one probe. `ttftMs` is set for streamed probes only. */
export interface ProbeTiming {
  readonly totalMs: number;
  readonly ttftMs: number | null;
}

/** Legacy completions logprobs, as vLLM returns them (`echo` puts the prompt's tokens first). */
export interface TokenLogprobs {
  readonly tokens: readonly string[];
  readonly tokenLogprobs: readonly (number | null)[];
  readonly textOffset: readonly number[];
}

export interface CompletionOutcome {
  readonly text: string;
  readonly logprobs: TokenLogprobs | null;
  readonly completionTokens: number | null;
  readonly finishReason: string | null;
  readonly timing: ProbeTiming;
}

export interface ChatOutcome {
  readonly content: string;
  readonly completionTokens: number | null;
  readonly timing: ProbeTiming;
}

export interface ImagesOutcome {
  /** Decoded image files (PNG or JPEG bytes). */
  readonly images: readonly Uint8Array[];
  readonly timing: ProbeTiming;
}

/** Request bodies are OpenAI-compatible JSON; extra sampling fields (`seed`, `top_k`) pass through. */
export type RequestBody = Record<string, unknown>;

/**
 * The evaluator's only way to reach nodes: ordinary OpenAI-style relays through a gateway with the
 * evaluator's application key, optionally pinned to one node. Kept small so that a test server, the
 * real gateway or any OpenAI-compatible endpoint can stand behind it.
 */
export interface ProbeTransportShape {
  completions(
    body: RequestBody,
    target: ProbeTarget,
    options?: { readonly stream?: boolean },
  ): Effect.Effect<CompletionOutcome, ProbeError>;
  chat(
    body: RequestBody,
    target: ProbeTarget,
    options?: { readonly stream?: boolean },
  ): Effect.Effect<ChatOutcome, ProbeError>;
  images(body: RequestBody, target: ProbeTarget): Effect.Effect<ImagesOutcome, ProbeError>;
  /** `POST /v1/images/edits` as a multipart upload: img2img, inpainting (`mask`), outpainting (`padding`). */
  imageEdits(edit: ImageEdit, target: ProbeTarget): Effect.Effect<ImagesOutcome, ProbeError>;
  /**
   * The gateway's mix of customer request shapes (`GET /v1/pocket/traffic-mix`), or undefined
   * when it has none to give; absent on transports that are not a gateway.
   */
  trafficMix?(): Effect.Effect<TrafficMix | undefined>;
  /**
   * Fails when the gateway cannot be reached or refuses the evaluator's key (401, or 403: no role
   * `evaluator`), asked without targeting any node, so no node can answer for the gateway. Absent
   * on transports that are not a gateway.
   */
  checkAccess?(): Effect.Effect<void, GatewayUnavailable>;
  /**
   * Customer relays of a node the gateway held for organic checks (handed out once), those it
   * served under `serviceId` only; absent off a gateway.
   */
  organicSamples?(nodeAddress: string, serviceId: string): Effect.Effect<readonly OrganicSample[]>;
}

/** One image edit: the source and mask as PNG bytes, the other fields as an ordinary client sends them. */
export interface ImageEdit {
  readonly image: Uint8Array;
  readonly mask?: Uint8Array | undefined;
  readonly fields: RequestBody;
}

export class ProbeTransport extends Context.Tag("evaluator/ProbeTransport")<
  ProbeTransport,
  ProbeTransportShape
>() {}

/** The header a gateway honours for keys with role `evaluator`: route this relay to that node. */
export const TARGET_NODE_HEADER = "x-pocket-target-node";

/**
 * `transport` with each probe call (completions, chat, images, image edits) sent through `wrap` —
 * a rate limit, a pause, a retry — and its other calls as they are.
 */
export function wrapProbeCalls(
  transport: ProbeTransportShape,
  wrap: <A>(call: Effect.Effect<A, ProbeError>) => Effect.Effect<A, ProbeError>,
): ProbeTransportShape {
  return {
    ...transport,
    completions: (body, target, options) => wrap(transport.completions(body, target, options)),
    chat: (body, target, options) => wrap(transport.chat(body, target, options)),
    images: (body, target) => wrap(transport.images(body, target)),
    imageEdits: (edit, target) => wrap(transport.imageEdits(edit, target)),
  };
}
