import { performance } from "node:perf_hooks";
import { ORGANIC_SAMPLES_PATH, OrganicSamples, TRAFFIC_MIX_PATH, TrafficMix } from "@pocket-ai/protocol";
import { Effect, Layer } from "effect";
import OpenAI, { toFile } from "openai";
import type { GatewayAccess } from "../config/evaluator-config.js";
import { GatewayUnavailable, type ProbeError, ProbeTimeout } from "../errors.js";
import { probeFailureOf } from "./probe-error-map.js";
import { readChatBody, readCompletionBody, readImagesBody } from "./probe-response.js";
import { streamChat, streamCompletion } from "./probe-stream.js";
import {
  type ProbeTarget,
  ProbeTransport,
  type ProbeTransportShape,
  type RequestBody,
  TARGET_NODE_HEADER,
} from "./probe-transport.js";

/**
 * `ProbeTransport` over the official OpenAI client: a gateway base URL, the evaluator's key and
 * `x-pocket-target-node` when a node is targeted. The client never retries on its own (the run
 * loop decides), and every call carries an AbortSignal so a timeout really cancels the request.
 */
export function makeOpenAiTransport(access: GatewayAccess): ProbeTransportShape {
  const client = new OpenAI({
    baseURL: access.baseUrl,
    apiKey: access.apiKey,
    maxRetries: 0,
    timeout: access.timeoutMs,
    defaultHeaders: access.headers,
  });
  const headersOf = (target: ProbeTarget) =>
    target.node === undefined ? {} : { [TARGET_NODE_HEADER]: target.node };

  const call = <A>(run: (signal: AbortSignal, started: number) => Promise<A>): Effect.Effect<A, ProbeError> =>
    Effect.tryPromise({
      try: (signal) => run(signal, performance.now()),
      catch: probeFailureOf,
    }).pipe(
      Effect.timeoutFail({
        duration: access.timeoutMs,
        onTimeout: () => new ProbeTimeout({ timeoutMs: access.timeoutMs }),
      }),
    );

  return {
    completions: (body, target, options) =>
      call(async (signal, started) => {
        const request = { headers: headersOf(target), signal };
        if (options?.stream === true) return streamCompletion(client, body, request, started);
        const raw: unknown = await client.completions.create(
          { ...body, stream: false } as unknown as OpenAI.CompletionCreateParamsNonStreaming,
          request,
        );
        return readCompletionBody(raw, performance.now() - started);
      }),
    chat: (body, target, options) =>
      call(async (signal, started) => {
        const request = { headers: headersOf(target), signal };
        if (options?.stream === true) return streamChat(client, body, request, started);
        const raw: unknown = await client.chat.completions.create(
          { ...body, stream: false } as unknown as OpenAI.ChatCompletionCreateParamsNonStreaming,
          request,
        );
        return readChatBody(raw, performance.now() - started);
      }),
    images: (body: RequestBody, target) =>
      call(async (signal, started) => {
        const raw: unknown = await client.images.generate(
          { response_format: "b64_json", ...body } as unknown as OpenAI.ImageGenerateParamsNonStreaming,
          { headers: headersOf(target), signal },
        );
        return readImagesBody(raw, performance.now() - started);
      }),
    imageEdits: (edit, target) =>
      call(async (signal, started) => {
        // Numbers travel as form fields; an object (outpainting padding) as its JSON.
        const fields = Object.fromEntries(
          Object.entries(edit.fields).map(([k, v]) => [
            k,
            typeof v === "object" && v !== null ? JSON.stringify(v) : v,
          ]),
        );
        const raw: unknown = await client.images.edit(
          {
            response_format: "b64_json",
            ...fields,
            image: await toFile(edit.image, "image.png", { type: "image/png" }),
            ...(edit.mask === undefined
              ? {}
              : { mask: await toFile(edit.mask, "mask.png", { type: "image/png" }) }),
          } as unknown as OpenAI.ImageEditParamsNonStreaming,
          { headers: headersOf(target), signal },
        );
        return readImagesBody(raw, performance.now() - started);
      }),
    trafficMix: () =>
      getJson(access, TRAFFIC_MIX_PATH).pipe(
        Effect.map((raw) => {
          const parsed = TrafficMix.safeParse(raw);
          return parsed.success ? parsed.data : undefined;
        }),
      ),
    checkAccess: () => checkAccess(access),
    organicSamples: (nodeAddress, serviceId) =>
      getJson(
        access,
        `${ORGANIC_SAMPLES_PATH}?node=${encodeURIComponent(nodeAddress)}&kinds=completions,chat&service=${encodeURIComponent(serviceId)}`,
      ).pipe(
        Effect.map((raw) => {
          const parsed = OrganicSamples.safeParse(raw);
          // A gateway from before `service` hands out every service's: another model's answers
          // would gap against this service's reference as a weaker model's do.
          return parsed.success ? parsed.data.samples.filter((s) => s.serviceId === serviceId) : [];
        }),
      ),
  };
}

/** A gateway `GET` under the `/v1` base URL with the evaluator's key; undefined when it fails. */
function getJson(access: GatewayAccess, path: string): Effect.Effect<unknown> {
  return Effect.tryPromise(async (signal) => {
    const response = await fetch(`${access.baseUrl.replace(/\/$/, "")}${path}`, {
      headers: { ...access.headers, authorization: `Bearer ${access.apiKey}` },
      signal: AbortSignal.any([signal, AbortSignal.timeout(access.timeoutMs)]),
    });
    return response.ok ? ((await response.json()) as unknown) : undefined;
  }).pipe(Effect.orElseSucceed(() => undefined));
}

/**
 * `GET /v1/pocket/traffic-mix`, which a gateway answers only for evaluator keys: no answer, 401 or
 * 403 fail; 200 passes. A 404 passes only from an OpenAI-compatible endpoint that is not a Pocket
 * gateway, one whose `GET /models` lists models: a base URL without its `/v1`, or one naming a node
 * or another server, answers 404 to both, and every probe sent there would fail, scoring each node
 * 0 for the operator's mistake.
 */
function checkAccess(access: GatewayAccess): Effect.Effect<void, GatewayUnavailable> {
  const url = `${access.baseUrl.replace(/\/$/, "")}${TRAFFIC_MIX_PATH}`;
  return Effect.tryPromise({
    try: (signal) =>
      fetch(url, {
        headers: { ...access.headers, authorization: `Bearer ${access.apiKey}` },
        signal: AbortSignal.any([signal, AbortSignal.timeout(access.timeoutMs)]),
      }),
    catch: (e) => {
      const cause = e instanceof Error && e.cause instanceof Error ? e.cause : e;
      return new GatewayUnavailable({
        code: "BACKEND_UNAVAILABLE",
        reason: `no answer from the gateway at ${access.baseUrl} (${cause instanceof Error ? cause.message : String(cause)})`,
      });
    },
  }).pipe(
    Effect.flatMap((response) => {
      void response.body?.cancel();
      if (response.status === 401)
        return new GatewayUnavailable({
          code: "INVALID_API_KEY",
          reason: `the gateway at ${access.baseUrl} refused the evaluator's key (401)`,
        });
      if (response.status === 403)
        return new GatewayUnavailable({
          code: "PERMISSION_DENIED",
          reason: `the gateway at ${access.baseUrl} took the evaluator's key but refused it an evaluator's request (403)`,
        });
      // A proxy whose gateway is down answers for it: the gateway answers no request then.
      if (response.status >= 500)
        return new GatewayUnavailable({
          code: "BACKEND_UNAVAILABLE",
          reason: `the gateway at ${access.baseUrl} answered HTTP ${response.status}`,
        });
      return response.status === 404 ? listsModels(access) : Effect.void;
    }),
  );
}

/** After a 404 for the traffic mix: the base URL must still be an OpenAI API that lists models. */
function listsModels(access: GatewayAccess): Effect.Effect<void, GatewayUnavailable> {
  return getJson(access, "/models").pipe(
    Effect.flatMap((listed) =>
      typeof listed === "object" && listed !== null && Array.isArray((listed as { data?: unknown }).data)
        ? Effect.void
        : new GatewayUnavailable({
            code: "BACKEND_UNAVAILABLE",
            reason: `${access.baseUrl} is not an OpenAI API base URL: it answers 404 to GET ${TRAFFIC_MIX_PATH} and lists no models at GET /models (a Pocket gateway's base URL ends in /v1, e.g. http://127.0.0.1:8080/v1)`,
          }),
    ),
  );
}

/** The transport for the configured gateway. */
export const openAiTransportLayer = (access: GatewayAccess) =>
  Layer.sync(ProbeTransport, () => makeOpenAiTransport(access));
