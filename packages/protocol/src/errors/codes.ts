/**
 * Stable error codes shared by every Pocket AI app. A code never changes meaning once published;
 * new failures get new codes. Each entry carries the HTTP status an HTTP front door returns, the
 * OpenAI error `type` it maps to, and a message that tells the caller what to do next.
 *
 * @example
 * ```ts
 * import { ErrorCodes } from "@pocket-ai/protocol";
 * ErrorCodes.INPUT_TOO_LONG.status; // 400
 * ```
 */
export const ErrorCodes = {
  // ── Request shape ────────────────────────────────────────────────────────────
  INVALID_REQUEST: {
    status: 400,
    type: "invalid_request_error",
    message:
      "The request does not match the API. Fix what the message names (the field in `param`, when there is one) and retry.",
  },
  INPUT_TOO_LONG: {
    status: 400,
    type: "invalid_request_error",
    message:
      "The prompt has more input tokens than the tier allows. Shorten the prompt or pick a tier with a larger context.",
  },
  OUTPUT_TOO_LONG: {
    status: 400,
    type: "invalid_request_error",
    message:
      "`max_tokens` is above the tier's output limit. Lower it or pick a tier with a larger output limit.",
  },
  TOO_MANY_INPUTS: {
    status: 400,
    type: "invalid_request_error",
    message:
      "The embeddings call has more inputs than the tier takes in one call. Split the batch into several calls.",
  },
  REQUEST_TOO_LARGE: {
    status: 413,
    type: "invalid_request_error",
    message:
      "The request body is larger than this gateway takes (the limit is in the message). Send a smaller body: a shorter prompt, fewer or smaller images.",
  },
  IMAGE_TOO_LARGE: {
    status: 400,
    type: "invalid_request_error",
    message: "The requested image size, count or step count is above the tier's limit. Ask for less.",
  },
  UNSUPPORTED_OPERATION: {
    status: 400,
    type: "invalid_request_error",
    message:
      "This service does not offer that operation (for example images on a text service). Use another model.",
  },
  UNSUPPORTED_PARAMETER: {
    status: 400,
    type: "invalid_request_error",
    message:
      "A parameter is not supported by the node's backend (for example prompt logprobs). Remove it or target a tier whose nodes support it.",
  },
  NO_CAPABLE_NODE: {
    status: 400,
    type: "invalid_request_error",
    message:
      "No node serving this model supports a feature the request uses (named in `param`: for example `n` above 1, `response_format`, `tools`). Remove it, or use a model whose nodes support it; GET /v1/models lists each model's features.",
  },
  UNKNOWN_PARAMETER: {
    status: 400,
    type: "invalid_request_error",
    message:
      "The body has a field this API does not define (for example an engine option such as `n_predict`). Remove the field named in `param`; the output length is `max_tokens` (`max_output_tokens` on the Responses API).",
  },
  RESPONSE_NOT_STORED: {
    status: 400,
    type: "invalid_request_error",
    message:
      "Responses are not stored, so they cannot be referred to (`previous_response_id`, `conversation`), and a streamed answer's message item is kept (encrypted, in memory) for a limited time only, so an `item_reference` to one may have expired. Send the earlier items themselves in `input`; with the Vercel AI SDK set providerOptions.openai.store to false.",
  },
  INVALID_ITEM_REFERENCE: {
    status: 400,
    type: "invalid_request_error",
    message:
      "The `item_reference` id was not issued by this gateway to this application, or was changed. Refer only to ids of message items this gateway answered you with, unchanged, or send the item itself.",
  },
  RESPONSE_ITEM_UNAVAILABLE: {
    status: 503,
    type: "server_error",
    message:
      "The gateway replica that holds this streamed answer's message item did not answer in time. Retry in a few seconds; if it keeps failing, send the item itself (an assistant message with its text) instead of the `item_reference`.",
  },
  UNSUPPORTED_RESPONSES_FEATURE: {
    status: 400,
    type: "invalid_request_error",
    message:
      "This Responses API feature is not offered (built-in tools other than functions, image or file inputs, reasoning, background mode, logprobs). Remove the field named in `param`.",
  },
  UPLOADS_BUSY: {
    status: 503,
    type: "server_error",
    message:
      "The gateway is decoding as many uploaded images as it takes at once and as many more wait for their turn, or your application already has as many of them as one application may. Retry after the delay given (Retry-After); nothing was charged or relayed.",
  },
  IMAGE_URL_EXPIRED: {
    status: 404,
    type: "invalid_request_error",
    message:
      'The image URL has expired or never existed: the gateway keeps generated images for a limited time only. Fetch images soon after they are made, or ask for `response_format: "b64_json"`.',
  },
  IMAGE_URL_UNAVAILABLE: {
    status: 503,
    type: "server_error",
    message:
      'The gateway replica that holds this image did not answer in time. Retry the URL in a few seconds; if it keeps failing, generate the image again or ask for `response_format: "b64_json"`.',
  },
  // ── Identity and access ──────────────────────────────────────────────────────
  UNKNOWN_MODEL: {
    status: 404,
    type: "invalid_request_error",
    message: "No service or tier has that name. List the available ones with GET /v1/models.",
  },
  UNKNOWN_SERVICE: {
    status: 404,
    type: "invalid_request_error",
    message: "The service ID is not in the catalog. Check the spelling or add the service to the catalog.",
  },
  UNKNOWN_TIER: {
    status: 404,
    type: "invalid_request_error",
    message: "The service has no tier of that name. Use one of the tiers listed by GET /v1/models.",
  },
  INVALID_API_KEY: {
    status: 401,
    type: "authentication_error",
    message: "The API key is missing, malformed, revoked or unknown. Send `Authorization: Bearer <key>`.",
  },
  ADMIN_UNAUTHORIZED: {
    status: 401,
    type: "authentication_error",
    message: "The admin token is missing or wrong. Send the operator's admin token.",
  },
  METRICS_UNAUTHORIZED: {
    status: 401,
    type: "authentication_error",
    message:
      "This /metrics needs its token, and it is missing or wrong. Send `Authorization: Bearer <token>` with the app's `metrics.token`.",
  },
  METRICS_LOCAL_ONLY: {
    status: 403,
    type: "permission_error",
    message:
      "This /metrics answers only scrapes from its own machine (a loopback address, not through a proxy). Set the app's `metrics.token` and scrape with `Authorization: Bearer <token>`, or set `metrics.public: true` to open it to anyone who reaches the port.",
  },
  PERMISSION_DENIED: {
    status: 403,
    type: "permission_error",
    message:
      "The API key is valid but may not do what the request asks (the message says what, and which keys may). Send it with a key that may, such as one the gateway's operator gave role evaluator, or leave out what the message names.",
  },
  RATE_LIMITED: {
    status: 429,
    type: "rate_limit_error",
    message:
      "The key's requests-per-minute or tokens-per-minute limit is reached. Retry after the delay given.",
  },
  BUDGET_EXHAUSTED: {
    status: 402,
    type: "insufficient_quota",
    message:
      "The key's budget left does not cover this request (spent, or less than the request's price). Ask the portal operator to raise it, or send a cheaper request.",
  },
  // ── Relay envelope ───────────────────────────────────────────────────────────
  MALFORMED_ENVELOPE: {
    status: 400,
    type: "invalid_request_error",
    message:
      "The relay envelope does not match the protocol schema. Upgrade the sender to this protocol version.",
  },
  INVALID_SIGNATURE: {
    status: 401,
    type: "authentication_error",
    message: "The signature does not verify against the signer's public key. Re-sign the canonical bytes.",
  },
  ADDRESS_MISMATCH: {
    status: 401,
    type: "authentication_error",
    message: "The declared address is not derived from the public key. Send the key that owns the address.",
  },
  WRONG_SESSION: {
    status: 409,
    type: "invalid_request_error",
    message:
      "The relay's session header does not match the current session for this application and service. Fetch the current session and retry.",
  },
  SESSION_EXPIRED: {
    status: 409,
    type: "invalid_request_error",
    message: "The relay's session has ended. Retry in the current session.",
  },
  NOT_IN_SESSION: {
    status: 403,
    type: "permission_error",
    message: "This node is not one of the session's nodes. Send the relay to a node the session selected.",
  },
  REPLAYED_RELAY: {
    status: 409,
    type: "invalid_request_error",
    message: "This relay was already served in this session. Send a new request with a fresh nonce.",
  },
  UNKNOWN_GATEWAY: {
    status: 403,
    type: "permission_error",
    message: "The node does not serve this gateway. Add the gateway's address to the node's config.",
  },
  // ── Nodes and backends ───────────────────────────────────────────────────────
  NO_NODES_AVAILABLE: {
    status: 503,
    type: "server_error",
    message: "No healthy node serves this service and tier right now. Retry shortly or choose another tier.",
  },
  NODE_BUSY: {
    status: 503,
    type: "server_error",
    message: "The node's queue for this backend is full. Retry on another node or later.",
  },
  BACKEND_UNAVAILABLE: {
    status: 502,
    type: "server_error",
    message:
      "The node's inference backend did not answer. The gateway retries elsewhere; retry later if it persists.",
  },
  BACKEND_ERROR: {
    status: 502,
    type: "server_error",
    message: "The inference backend returned an error. Retry; report it to the node runner if it persists.",
  },
  ENGINE_REJECTED: {
    status: 400,
    type: "invalid_request_error",
    message:
      "The model's inference engine refused this request (for example, the prompt and max_tokens exceed its context window, a token id is outside its vocabulary, or an image workflow's input such as the sampler or step count is not accepted); its reason is quoted. Change the request as it says: the same request fails the same way on every node.",
  },
  TIMEOUT: {
    status: 504,
    type: "server_error",
    message: "The relay did not complete within the tier's timeout. Retry, or use a smaller request.",
  },
  GATEWAY_SHUTTING_DOWN: {
    status: 503,
    type: "server_error",
    message:
      "The gateway is shutting down (a restart or a scale-in) and cut this stream before its end. The tokens delivered were metered; retry the request for the rest of the answer.",
  },
  NODE_FAILED: {
    status: 502,
    type: "server_error",
    message:
      "The node this relay was pinned to (`x-pocket-target-node`) failed it: it could not be reached, does not serve the model now, answered without a code or with one only a gateway gives. It counts against that node; check the node, then retry.",
  },
  INVALID_NODE_RESPONSE: {
    status: 502,
    type: "server_error",
    message:
      "A node's response failed validation (schema, service, signature or limits). It was retried elsewhere.",
  },
  STREAM_INTERRUPTED: {
    status: 502,
    type: "server_error",
    message: "The stream ended before completion. The tokens delivered were metered; retry for the rest.",
  },
  // ── Claims and settlement ────────────────────────────────────────────────────
  CUT_RECEIPT_REFUSED: {
    status: 409,
    type: "invalid_request_error",
    message:
      "The node's ledger cannot take this stream cut receipt (the detail says why): the relay was not streamed, is another gateway's or session's, failed on its own or was settled otherwise, the receipt pays a share under no signed head or more output or weight than the node recorded, or the session's claim may already be built. Sending it again changes nothing.",
  },
  UNKNOWN_RELAY: {
    status: 404,
    type: "invalid_request_error",
    message:
      "The node has no record of that relay yet (its row may still be on its way to the node's ledger). A gateway keeps a stream cut receipt and sends it again until the session's claim may be built (its end plus its grace); after that the relay stays out of the node's claim.",
  },
  INVALID_CLAIM: {
    status: 400,
    type: "invalid_request_error",
    message:
      "The claim does not match the relays this gateway signed for that session. Rebuild it from stored relays.",
  },
  INVALID_PROOF: {
    status: 400,
    type: "invalid_request_error",
    message: "The proof does not verify against the claimed root. Rebuild the proof for the requested leaf.",
  },
  CLAIM_WINDOW_CLOSED: {
    status: 409,
    type: "invalid_request_error",
    message: "The claim or proof arrived outside its window. Submit claims soon after the session ends.",
  },
  CLAIM_WINDOW_NOT_OPEN: {
    status: 409,
    type: "invalid_request_error",
    message:
      "The claim arrived before its window opened (the session's end plus its grace, by the gateway's clock). Submit it again once the window opens.",
  },
  DUPLICATE_CLAIM: {
    status: 409,
    type: "invalid_request_error",
    message: "A claim for this node and session already exists. Nothing more to do.",
  },
  RATE_NOT_SET: {
    status: 409,
    type: "invalid_request_error",
    message: "No POKT/USD rate is set for that week. The admin must set the week's rate first.",
  },
  // ── Node registration ────────────────────────────────────────────────────────
  ANNOUNCE_LIMITED: {
    status: 429,
    type: "rate_limit_error",
    message:
      "The gateway took as many nodes new to it (never announced there, or forgotten) from your network this hour as it takes. Nodes it knows are not limited; keep announcing, and this node is taken once the hour's count falls (the message says when). Run fewer new node keys from one network, or ask the gateway's operator to raise `routing.newNodesPerNetworkPerHour`.",
  },
  ENDPOINT_NOT_PUBLIC: {
    status: 403,
    type: "permission_error",
    message:
      "The announced endpoint's host is, or resolves to, an address the gateway does not call: loopback, link-local, private (RFC 1918, CGNAT), unique-local, unspecified or multicast. Announce the address the gateway reaches the node at from the internet (a public IP address, or a name that resolves only to public ones), or, where gateway and node share a private network, ask the gateway's operator to set `routing.allowPrivateEndpoints`.",
  },
  ANNOUNCEMENT_SUPERSEDED: {
    status: 409,
    type: "invalid_request_error",
    message:
      "The gateway holds an announcement of this node issued later than this one: an old announcement sent again, or a node whose clock went back. A node signs a new announcement each time, after the last one it sent even when its clock was stepped back; a node restarted after such a step is taken again once its clock passes the time of the one the gateway holds (the message says when).",
  },
  ANNOUNCEMENT_WRONG_GATEWAY: {
    status: 403,
    type: "permission_error",
    message:
      "The announcement was signed for another gateway (its `gatewayAddress` is not this gateway's address): a node signs each announcement for the gateway it sends it to, so one carried to another gateway registers nothing there. A node sending its own announcement here has this gateway under another address in its config: set its gateways[].address to this gateway's address (its start log and `GET /health` show it).",
  },
  // ── Portal (the web console at /portal/) ─────────────────────────────────────
  SIGNUP_CLOSED: {
    status: 403,
    type: "permission_error",
    message: "Self-serve sign-up is off on this portal. Ask the portal operator for an account.",
  },
  SIGNUP_LIMITED: {
    status: 429,
    type: "rate_limit_error",
    message: "Too many accounts were created from your network recently. Try again in an hour.",
  },
  EMAIL_TAKEN: {
    status: 409,
    type: "invalid_request_error",
    message: "An account with this e-mail address exists. Log in instead, or use another address.",
  },
  WEAK_PASSWORD: {
    status: 400,
    type: "invalid_request_error",
    message:
      "The password is too short or too common. Use a longer one, such as a passphrase of a few words.",
  },
  LOGIN_FAILED: {
    status: 401,
    type: "authentication_error",
    message: "The e-mail address or the password is wrong. Check both and retry.",
  },
  WRONG_PASSWORD: {
    status: 403,
    type: "permission_error",
    message:
      "The current password is wrong. Type the password you log in with now; wrong tries count as failed log-ins.",
  },
  LOGIN_LIMITED: {
    status: 429,
    type: "rate_limit_error",
    message: "Too many failed log-ins for this account or network. Wait 15 minutes, then retry.",
  },
  SESSION_REQUIRED: {
    status: 401,
    type: "authentication_error",
    message: "You are not logged in, or your session ended. Log in to continue.",
  },
  CSRF_REJECTED: {
    status: 403,
    type: "permission_error",
    message: "The form expired or was sent from another site. Reload the page and submit it again.",
  },
  ADMIN_REQUIRED: {
    status: 403,
    type: "permission_error",
    message: "This page is for the portal operator. Log in with an administrator account.",
  },
  KEY_LIMIT_REACHED: {
    status: 409,
    type: "invalid_request_error",
    message: "The account holds the most active API keys allowed. Revoke a key you no longer use first.",
  },
  ACCOUNT_BUDGET_REACHED: {
    status: 409,
    type: "invalid_request_error",
    message:
      "The account's keys together hold the most budget this portal allows (what revoked keys spent counts). Lower another key's budget, or ask the operator to raise it.",
  },
  SELF_SERVE_BUDGET_LIMITED: {
    status: 429,
    type: "rate_limit_error",
    message:
      "This portal has granted all the key budget it gives its accounts in a day. Try again later, or ask the portal operator to raise your key's budget.",
  },
  PAGE_NOT_FOUND: {
    status: 404,
    type: "invalid_request_error",
    message: "There is no page at this address. Start again from /portal/.",
  },
  ROUTE_NOT_FOUND: {
    status: 404,
    type: "invalid_request_error",
    message:
      "The API has no route at this path. It serves /v1/chat/completions, /v1/completions, /v1/responses, /v1/embeddings, /v1/images/generations, /v1/images/edits and /v1/models.",
  },
  METHOD_NOT_ALLOWED: {
    status: 405,
    type: "invalid_request_error",
    message: "This route does not take this HTTP method. Use the one the `Allow` header names.",
  },
  REQUESTS_BUSY: {
    status: 503,
    type: "server_error",
    message:
      "The server is receiving as many request bodies as it holds in memory at once (bodies are read whole before they are checked). Retry in a few seconds; nothing was done.",
  },
  // ── Configuration and internals ──────────────────────────────────────────────
  INVALID_CONFIG: {
    status: 500,
    type: "server_error",
    message: "The configuration is invalid. Fix the field named in the message and restart.",
  },
  DATABASE_UNAVAILABLE: {
    status: 503,
    type: "server_error",
    message:
      "The gateway cannot use its database right now, so it answers nothing it could not record. Retry shortly; if it persists, the gateway's operator must check its database (the server reachable, the disk not full, the file writable).",
  },
  INTERNAL: {
    status: 500,
    type: "server_error",
    message: "An unexpected error happened. Retry; report it with the request id if it persists.",
  },
} as const satisfies Record<string, { status: number; type: string; message: string }>;

/**
 * A stable error code, e.g. `"INPUT_TOO_LONG"`.
 *
 * @example
 * ```ts
 * const code: ErrorCode = "REPLAYED_RELAY";
 * ```
 */
export type ErrorCode = keyof typeof ErrorCodes;

/**
 * Codes a gateway answers for reasons of its own: its caller's access and limits, its catalog, its
 * routing, its database. They say nothing about a node, so a client that measures nodes (the
 * evaluator) does not count them against one, and a gateway never answers a relay pinned to a node
 * with one because of what that node did (`NODE_FAILED` instead).
 */
export const GATEWAY_OWN_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  "NO_NODES_AVAILABLE",
  "RATE_LIMITED",
  "BUDGET_EXHAUSTED",
  "INVALID_API_KEY",
  "PERMISSION_DENIED",
  "UNKNOWN_MODEL",
  "UNKNOWN_SERVICE",
  "UNKNOWN_TIER",
  "DATABASE_UNAVAILABLE",
  "GATEWAY_SHUTTING_DOWN",
  "UPLOADS_BUSY",
]);
