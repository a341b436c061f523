import type { IncomingMessage, ServerResponse } from "node:http";
import type { OrganicSampleKind } from "@pocket-ai/protocol";
import { Effect } from "effect";
import { Accounts } from "../accounts/accounts.js";
import { Dispatcher } from "../relay/dispatcher.js";
import { RequestRefused } from "./errors.js";
import { sendJson } from "./http-response.js";
import { keyRoleOf } from "./key-roles.js";
import type { FrontDoorDeps } from "./relay-call.js";

/** Authenticates the caller and refuses (403) any key whose role is not `evaluator`. */
const requireEvaluatorKey = Effect.fnUntraced(function* (
  deps: FrontDoorDeps,
  req: IncomingMessage,
  what: string,
) {
  const key = yield* Effect.flatMap(Accounts, (accounts) => accounts.authenticate(req.headers.authorization));
  if ((yield* keyRoleOf(deps.db, key.keyId)) !== "evaluator") {
    return yield* new RequestRefused({
      code: "PERMISSION_DENIED",
      detail: `only evaluator keys may ${what}`,
    });
  }
});

/**
 * `GET /v1/pocket/traffic-mix`: the shapes of recent customer text relays (counts of parameter
 * combinations, never prompts or outputs), for evaluator keys only, so probes go out in the shapes
 * customers send.
 */
export const serveTrafficMix = Effect.fnUntraced(function* (
  deps: FrontDoorDeps,
  req: IncomingMessage,
  res: ServerResponse,
  cors: Readonly<Record<string, string>>,
) {
  yield* requireEvaluatorKey(deps, req, "read the traffic mix");
  const dispatcher = yield* Dispatcher;
  sendJson(res, 200, dispatcher.trafficMix?.() ?? { total: 0, shapes: [] }, cors);
});

/**
 * `GET /v1/pocket/organic-samples?node=pokt1…&kinds=completions,chat&service=llama-2-13b`: customer
 * relays of that node held for organic checks (prompt or messages, output, parameters), handed out
 * once, for evaluator keys only. Without `kinds`, completions samples only (what older evaluators
 * read); with `service`, only those the node served under that service (without it, every service's).
 */
export const serveOrganicSamples = Effect.fnUntraced(function* (
  deps: FrontDoorDeps,
  req: IncomingMessage,
  res: ServerResponse,
  cors: Readonly<Record<string, string>>,
) {
  yield* requireEvaluatorKey(deps, req, "take organic samples");
  const query = new URL(req.url ?? "/", "http://gateway").searchParams;
  const node = query.get("node") ?? "";
  const kinds = (query.get("kinds") ?? "completions")
    .split(",")
    .filter((k): k is OrganicSampleKind => k === "completions" || k === "chat");
  const service = query.get("service") ?? undefined;
  const dispatcher = yield* Dispatcher;
  sendJson(
    res,
    200,
    { samples: node === "" ? [] : (dispatcher.organicSamples?.(node, 256, kinds, service) ?? []) },
    cors,
  );
});
