import type { MetricsRegistry } from "@pocket-ai/runtime";

/** What the `/v1/*` front door exposes on `GET /metrics`. Labels never carry keys or content. */
export function makeFrontDoorMetrics(registry: MetricsRegistry) {
  return {
    requests: registry.counter(
      "pocket_gateway_requests_total",
      "Requests to /v1 by operation, model and HTTP status",
    ),
    seconds: registry.histogram(
      "pocket_gateway_request_seconds",
      "Time from request to last byte, by operation and outcome",
    ),
    ttftSeconds: registry.histogram(
      "pocket_gateway_stream_ttft_seconds",
      "Time to the first streamed event, by model",
    ),
    imagePeerFetches: registry.counter(
      "pocket_gateway_image_peer_fetches_total",
      "Image URLs fetched from the replica holding them, by outcome (image, gone, unavailable)",
    ),
    responseItemPeerFetches: registry.counter(
      "pocket_gateway_response_item_peer_fetches_total",
      "Streamed response items fetched from the replica holding them, by outcome (found, gone, unavailable)",
    ),
    inFlight: registry.gauge("pocket_gateway_in_flight", "Requests being served now"),
    uploadDecodes: registry.gauge(
      "pocket_gateway_upload_decodes",
      "Image-edit uploads being decoded now, and waiting for a turn, by state (decoding, waiting)",
    ),
    tokens: registry.counter("pocket_gateway_tokens_total", "Tokens metered, by model and direction"),
    chargedMicroUsd: registry.counter(
      "pocket_gateway_charged_micro_usd_total",
      "Micro-USD charged to keys, by model",
    ),
  };
}

export type FrontDoorMetrics = ReturnType<typeof makeFrontDoorMetrics>;
