import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { type Backend, type DevImageEngine, type DevTextEngine, makeDevBackend } from "@pocket-ai/node/fakes";
import { ORGANIC_SAMPLES_PATH, type OrganicSample, organicRequestOf } from "@pocket-ai/protocol";
import { Effect, Stream } from "effect";
import { faultyImages, type ImageFault } from "./image-faults.js";

/**
 * A small OpenAI-compatible server standing in for a gateway in tests: it routes each request to
 * one "node" by `x-pocket-target-node` (allowed only for the evaluator's key, as the real gateway
 * does) or to a random node, and each node answers from a real development backend. Knobs imitate
 * what the evaluator must catch: no prompt logprobs (llama.cpp ignores `echo`), a model swapped
 * mid-run, two nodes sharing one engine; image nodes answer from the dev image engine, honestly
 * or with one of the faults of `image-faults.ts`.
 */
export interface DevNodeSpec {
  readonly address: string;
  readonly text?: DevTextEngine;
  readonly image?: DevImageEngine;
  /** A backend without prompt logprobs (llama.cpp server): its node refuses `echo`. */
  readonly dropPromptLogprobs?: boolean;
  /** After this many requests to the node, answer from `swapTo` instead. */
  readonly swapAfterRequests?: number;
  readonly swapTo?: DevTextEngine;
  /** An image node that answers wrongly in this way. */
  readonly imageFault?: ImageFault;
  /** A node served by this backend instead of a development one (e.g. a GGUF model in llama.cpp). */
  readonly backend?: Backend;
  /** A node that answers every non-streamed request itself (a cheat without a model). */
  readonly respond?: (operation: string, body: Record<string, unknown>) => unknown;
  /** A two-faced node: customers' requests (the customer key) are answered from this engine instead. */
  readonly customerText?: DevTextEngine;
  /**
   * Fails every evaluator request that repeats a request it served a customer (the same prompt or
   * messages): a node that recognises the self-consistency check's repeats and dodges them.
   */
  readonly refuseRepeats?: boolean;
  /** Which customer requests `customerText` answers (default: all of them). */
  readonly customerTextFor?: (operation: string, stream: boolean) => boolean;
  /**
   * A two-faced node that turns honest when it notices a run: from the evaluator's first text
   * request on, customers get the strong model too. `onNoticed` runs then, before that request is
   * answered (a test sends customer traffic from it: the relays the node serves while probed).
   */
  readonly honestOnceProbed?: { readonly onNoticed: () => Promise<void> };
}

export interface DevGateway {
  readonly baseUrl: string;
  readonly requests: Map<string, number>;
  /** Requests that arrived with a target header from a key without the evaluator role. */
  readonly refusedTargets: number;
  close(): Promise<void>;
}

/** One choice of a text answer or stream piece, as far as organic sampling reads it. */
type Choice = {
  readonly text?: string;
  readonly message?: { readonly content?: string | null };
  readonly delta?: { readonly content?: string };
  readonly finish_reason?: string | null;
};

const config = {
  kind: "dev",
  maxConcurrency: 4,
  maxQueue: 32,
  timeoutMs: 60_000,
  quality: 1,
  tokensPerSecond: 0,
  probeAtStart: true,
  firstTokenMs: 0,
} as const;

function backendOf(spec: { text?: DevTextEngine; image?: DevImageEngine; backend?: Backend }): Backend {
  if (spec.backend !== undefined) return spec.backend;
  return spec.image === undefined
    ? makeDevBackend(config, "text", spec.text === undefined ? {} : { text: spec.text })
    : makeDevBackend(config, "image", { image: spec.image });
}

/**
 * The request body: JSON, or for image edits a multipart form read the way the gateway reads it
 * (files as base64 PNG, numbers as numbers, an object field such as `padding` from its JSON).
 */
async function readBody(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const raw = Buffer.concat(chunks);
  const type = req.headers["content-type"] ?? "";
  if (!type.startsWith("multipart/form-data"))
    return JSON.parse(raw.toString("utf8") || "{}") as Record<string, unknown>;
  const form = await new Request("http://dev-gateway/", {
    method: "POST",
    headers: { "content-type": type },
    body: raw,
  }).formData();
  const body: Record<string, unknown> = {};
  for (const [name, value] of form.entries()) {
    if (typeof value !== "string") body[name] = Buffer.from(await value.arrayBuffer()).toString("base64");
    else if (/^-?\d+(\.\d+)?$/.test(value)) body[name] = Number(value);
    else if (value.startsWith("{")) body[name] = JSON.parse(value) as unknown;
    else body[name] = value;
  }
  return body;
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
}

export async function startDevGateway(options: {
  readonly nodes: readonly DevNodeSpec[];
  readonly evaluatorKey: string;
  readonly customerKey?: string;
  /**
   * Most samples held per node, the oldest dropped first: the gateway's samples expire
   * (`heldMs`) and the busiest node's go first when it holds too many. Unbounded by default.
   */
  readonly heldPerNode?: number;
}): Promise<DevGateway> {
  const requests = new Map<string, number>();
  /** What customers asked each node that refuses repeats (`refuseRepeats`): node and request text. */
  const customerAsks = new Set<string>();
  const slots = new Map(
    options.nodes.map((n) => [
      n.address,
      {
        spec: n,
        backend: backendOf(n),
        swapped: n.swapTo === undefined ? undefined : backendOf({ text: n.swapTo }),
        forCustomers: n.customerText === undefined ? undefined : backendOf({ text: n.customerText }),
      },
    ]),
  );
  const faults = new Map(
    options.nodes.flatMap((n) => {
      const slot = slots.get(n.address);
      return n.imageFault === undefined || slot === undefined
        ? []
        : [[n.address, faultyImages(n.imageFault, slot.backend)] as const];
    }),
  );
  /** Nodes that noticed a run (`honestOnceProbed`): the promise of their `onNoticed`. */
  const noticed = new Map<string, Promise<void>>();
  let refusedTargets = 0;
  let organic: OrganicSample[] = [];
  let untargeted = 0;

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const key = (req.headers.authorization ?? "").replace(/^Bearer /, "");
    if (key !== options.evaluatorKey && key !== options.customerKey) {
      return send(res, 401, {
        error: { message: "bad key", type: "authentication_error", code: "INVALID_API_KEY" },
      });
    }
    const path0 = (req.url ?? "").split("?")[0] ?? "";
    if (path0.endsWith(ORGANIC_SAMPLES_PATH)) {
      // As the gateway does: customer relays held for organic checks, handed out once.
      if (key !== options.evaluatorKey)
        return send(res, 403, {
          error: { message: "evaluator only", type: "permission_error", code: "PERMISSION_DENIED" },
        });
      const query = new URL(req.url ?? "/", "http://dev-gateway").searchParams;
      const node = query.get("node");
      const kinds = (query.get("kinds") ?? "completions").split(",");
      const service = query.get("service");
      const wanted = (s: OrganicSample) =>
        s.nodeAddress === node &&
        kinds.includes(s.kind ?? "completions") &&
        (service === null || s.serviceId === service);
      const taken = organic.filter(wanted);
      organic = organic.filter((s) => !wanted(s));
      return send(res, 200, { samples: taken });
    }
    const target = req.headers["x-pocket-target-node"];
    if (typeof target === "string" && key !== options.evaluatorKey) {
      refusedTargets += 1;
      return send(res, 403, {
        error: {
          message: "targeting needs role evaluator",
          type: "permission_error",
          code: "PERMISSION_DENIED",
        },
      });
    }
    const addresses = [...slots.keys()];
    // Untargeted requests go round the nodes in turn: which node answers is never a random draw.
    const address = typeof target === "string" ? target : addresses[untargeted++ % addresses.length]!;
    const slot = slots.get(address);
    if (slot === undefined) {
      return send(res, 503, {
        error: { message: "no such node", type: "server_error", code: "NO_NODES_AVAILABLE" },
      });
    }
    const count = (requests.get(address) ?? 0) + 1;
    requests.set(address, count);
    const swapAfter = slot.spec.swapAfterRequests;
    const body = await readBody(req);
    const path = req.url ?? "";
    const operation = path.endsWith("/chat/completions")
      ? "chat.completions"
      : path.endsWith("/completions")
        ? "completions"
        : path.endsWith("/images/edits")
          ? "edits"
          : "images";
    const turning = slot.spec.honestOnceProbed;
    if (
      turning !== undefined &&
      key === options.evaluatorKey &&
      (operation === "chat.completions" || operation === "completions")
    ) {
      if (!noticed.has(address)) noticed.set(address, turning.onNoticed());
      await noticed.get(address);
    }
    const twoFaced =
      key === options.customerKey &&
      !noticed.has(address) &&
      (slot.spec.customerTextFor?.(operation, body.stream === true) ?? true);
    const backend =
      twoFaced && slot.forCustomers !== undefined
        ? slot.forCustomers
        : slot.swapped !== undefined && swapAfter !== undefined && count > swapAfter
          ? slot.swapped
          : slot.backend;
    // As a Pocket node in front of such a backend does: it refuses echo, signed, and the gateway
    // passes a pinned probe the node's code.
    if (slot.spec.dropPromptLogprobs === true && body.echo === true) {
      return send(res, 400, {
        error: {
          message: "this node's backend returns no prompt logprobs (echo with logprobs)",
          type: "invalid_request_error",
          code: "UNSUPPORTED_PARAMETER",
          param: "echo",
        },
      });
    }
    // A node that remembers what its customers asked, and fails the evaluator's repeats of it.
    const askedText = JSON.stringify(body.messages ?? body.prompt ?? null);
    if (slot.spec.refuseRepeats === true) {
      if (key === options.customerKey) customerAsks.add(`${address} ${askedText}`);
      else if (customerAsks.has(`${address} ${askedText}`))
        return send(res, 502, {
          error: { message: "the node failed the relay", type: "server_error", code: "NODE_FAILED" },
        });
    }
    // As the gateway does: customers' relays of one plain-text choice are held for organic checks.
    const asked = key === options.customerKey ? organicRequestOf(operation, body) : undefined;
    const hold = (output: unknown, finish: unknown, stream: boolean) => {
      if (asked === undefined || typeof output !== "string" || output === "") return;
      if (finish !== "stop" && finish !== "length") return;
      const served = { nodeAddress: address, serviceId: "dev-text", output, params: asked.params, stream };
      organic.push(
        asked.kind === "chat"
          ? { kind: "chat", ...served, messages: asked.messages }
          : { kind: "completions", ...served, prompt: asked.prompt },
      );
      const cap = options.heldPerNode;
      if (cap !== undefined && organic.filter((s) => s.nodeAddress === address).length > cap)
        organic.splice(
          organic.findIndex((s) => s.nodeAddress === address),
          1,
        );
    };
    if (body.stream === true && (operation === "chat.completions" || operation === "completions")) {
      res.writeHead(200, { "content-type": "text/event-stream" });
      let text = "";
      let finish: unknown = null;
      await Effect.runPromise(
        Stream.runForEach(backend.stream(operation, body), (piece) =>
          Effect.sync(() => {
            for (const choice of (piece as { choices?: Choice[] }).choices ?? []) {
              text += (operation === "chat.completions" ? choice.delta?.content : choice.text) ?? "";
              finish = choice.finish_reason ?? finish;
            }
            res.write(`data: ${JSON.stringify(piece)}\n\n`);
          }),
        ),
      );
      hold(text, finish, true);
      res.end("data: [DONE]\n\n");
      return;
    }
    if (slot.spec.respond !== undefined) return send(res, 200, slot.spec.respond(operation, body));
    const call =
      operation === "chat.completions"
        ? backend.chatCompletions(body)
        : operation === "completions"
          ? backend.completions(body)
          : operation === "edits"
            ? (faults.get(address)?.edits?.(body) ?? backend.imagesEdits(body))
            : (faults.get(address)?.generations(body) ?? backend.imagesGenerations(body));
    const result = await Effect.runPromise(Effect.either(call));
    if (result._tag === "Right") {
      const choice = (result.right as { choices?: Choice[] }).choices?.[0];
      hold(
        operation === "chat.completions" ? choice?.message?.content : choice?.text,
        choice?.finish_reason,
        false,
      );
    }
    if (result._tag === "Right") return send(res, 200, result.right);
    const status = result.left._tag === "BackendRejected" ? 400 : 502;
    return send(res, status, {
      error: {
        message: result.left._tag,
        type: "server_error",
        code: status === 400 ? "INVALID_REQUEST" : "BACKEND_ERROR",
      },
    });
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent)
        send(res, 500, { error: { message: String(error), type: "server_error", code: "INTERNAL" } });
      else res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    requests,
    get refusedTargets() {
      return refusedTargets;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
