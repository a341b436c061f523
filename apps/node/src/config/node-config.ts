import {
  CatalogOverrides,
  ClockSessionParams,
  NodeModelDeclaration,
  PoktAddress,
  UnsignedNodeAnnouncement,
} from "@pocket-ai/protocol";
import { addressBlockProblem, LOOPBACK_BLOCKS, MetricsConfig, TelemetryConfig } from "@pocket-ai/runtime";
import { z } from "zod";

/** The inference engines a node can sit in front of. `dev` is the built-in development backend. */
export const BackendKind = z.enum(["vllm", "llamacpp", "ollama", "tgi", "a1111", "comfyui", "dev", "gguf"]);
export type BackendKind = z.infer<typeof BackendKind>;

/** One backend URL serving one service. Several per service are load-balanced. */
export const BackendConfig = z.strictObject({
  kind: BackendKind,
  /** Base URL of the engine, e.g. `http://127.0.0.1:8000` (vLLM) or `http://127.0.0.1:7860` (A1111). Not used by `dev`. */
  url: z.url().optional(),
  /** Model name the engine expects in its own requests (vLLM's served model name, an Ollama tag...). */
  model: z.string().min(1).optional(),
  /** Relays this backend runs at once; more wait in the queue. */
  maxConcurrency: z.number().int().min(1).max(1024).default(4),
  /** Relays allowed to wait; past this the node answers `NODE_BUSY` at once. */
  maxQueue: z.number().int().min(0).max(100_000).default(32),
  /**
   * Engines behind an API key (a hosted vLLM, a proxy): sent as `Authorization: Bearer <apiKey>`.
   * Never logged, never part of the backend's id or metrics labels.
   */
  apiKey: z.string().min(1).optional(),
  /** Extra HTTP headers for every call to the engine (a proxy's tenant header...). Never logged. */
  headers: z
    .record(z.string().regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/, "not an HTTP header name"), z.string())
    .optional(),
  /**
   * What this engine was started to do beyond its kind's defaults (`backends/engine-capabilities.ts`),
   * e.g. `{ tools: true }` for vLLM with `--enable-auto-tool-choice` or llama.cpp with `--jinja`.
   * Declared in the node's announcement; `pocket-node check` probes them.
   */
  capabilities: z
    .strictObject({
      n: z.boolean(),
      tools: z.boolean(),
      forcedToolChoice: z.boolean(),
      singleToolCall: z.boolean(),
      jsonMode: z.boolean(),
      jsonSchema: z.boolean(),
      tokenPrompts: z.boolean(),
      logitBias: z.boolean(),
      suffix: z.boolean(),
      logprobs: z.boolean(),
      promptLogprobs: z.boolean(),
    })
    .partial()
    .optional(),
  /**
   * Probe the engine at start (an HTTP engine only: vLLM, llama.cpp, Ollama, TGI) and announce only
   * the declared capabilities it really has: each one the probe sees refused or ignored is turned
   * off before the node announces itself (the same probes as `pocket-node check`). An engine that
   * cannot be reached at start keeps its declaration. Off: the declaration is announced as is.
   */
  probeAtStart: z.boolean().default(true),
  /** Per-call timeout; the tier's timeout applies when it is shorter. */
  timeoutMs: z.number().int().min(100).max(3_600_000).default(120_000),
  /** Development backend only: 0..1, lower means a worse model (for local networks with nodes that differ). */
  quality: z.number().min(0).max(1).default(1),
  /** Development backend only: tokens per second while streaming (0 = as fast as possible). */
  tokensPerSecond: z.number().min(0).default(0),
  /** Development backend only: delay before the first token, in ms. */
  firstTokenMs: z.number().int().min(0).default(0),
  /** `gguf` backend only: path of the `.gguf` model file llama.cpp runs in-process. */
  modelPath: z.string().min(1).optional(),
  /** `gguf` backend only: tokens each request can hold (prompt plus completion); default the model's, at most 4096. */
  contextSize: z.number().int().min(16).max(1_048_576).optional(),
  /**
   * `gguf` backend only: `auto` (default) uses a GPU when llama.cpp's GPU build and its driver are
   * installed, else the CPU (the node logs which, and why); `off` the CPU only; `cuda`, `vulkan` or
   * `metal` that build or none (the backend then reports `GGUF_ENGINE_UNAVAILABLE`).
   */
  gpu: z.enum(["auto", "off", "cuda", "vulkan", "metal"]).optional(),
  /** `gguf` backend only: CPU threads for evaluation; default llama.cpp's choice. */
  threads: z.number().int().min(1).max(1024).optional(),
});
export type BackendConfig = z.infer<typeof BackendConfig>;

/**
 * The announcement's fields this config fills in: checked here by the gateways' own rules, so a
 * name a gateway would refuse stops the node at start, naming the field, rather than each
 * announcement.
 */
const announced = UnsignedNodeAnnouncement.shape;

/** A service this node serves: which tiers, which model it declares, which backends run it. */
export const ServedService = z.strictObject({
  serviceId: z.string().min(1),
  tiers: z.array(z.string().min(1)).min(1).default(["standard"]),
  /** Announced as it is: the protocol's limits on announced text apply (`NodeModelDeclaration`). */
  model: z
    .strictObject({
      /** The model the node runner declares (shown to gateways and tested by the evaluator). */
      declared: NodeModelDeclaration.shape.declared,
      family: NodeModelDeclaration.shape.family,
      quantization: NodeModelDeclaration.shape.quantization.default("none"),
    })
    .optional(),
  backends: z.array(BackendConfig).min(1),
});
export type ServedService = z.infer<typeof ServedService>;

/**
 * A gateway's URL as the node calls it: its tRPC base. The gateway serves tRPC at `/trpc` under
 * the URL it prints at start, so a URL that does not end in `/trpc` gets it added
 * (`http://gw:8080` and `http://gw:8080/` become `http://gw:8080/trpc`).
 */
export function gatewayTrpcUrl(url: string): string {
  const parsed = new URL(url);
  const path = parsed.pathname.replace(/\/+$/, "");
  parsed.pathname = path.endsWith("/trpc") ? path : `${path}/trpc`;
  return parsed.toString();
}

/** A gateway this node serves and registers with. */
export const GatewayLink = z.strictObject({
  /** The gateway's URL, as it prints it at start (`http://127.0.0.1:8080`) or with its `/trpc` path. */
  url: z.url().transform(gatewayTrpcUrl),
  /** The gateway's `pokt1…` address; relays signed by any other key are refused. */
  address: PoktAddress,
});
export type GatewayLink = z.infer<typeof GatewayLink>;

/** What is wrong with a `publicUrl`, if anything; the endpoint announced is `<publicUrl>/trpc`. */
function publicUrlProblem(value: string): string | undefined {
  if (/\s/.test(value)) return "holds white space";
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return "is not an absolute URL";
  }
  if (url.protocol !== "http:" && url.protocol !== "https:")
    return `has the scheme ${url.protocol}, not http: or https:`;
  if (url.username !== "" || url.password !== "") return "carries credentials (user:password@)";
  if (url.search !== "" || value.includes("?")) return "has a query (?…)";
  if (url.hash !== "" || value.includes("#")) return "has a fragment (#…)";
  const endpoint = announced.endpoint.safeParse(`${withoutTrailingSlash(value)}/trpc`);
  return endpoint.success
    ? undefined
    : `as the endpoint <publicUrl>/trpc: ${endpoint.error.issues[0]?.message}`;
}

const withoutTrailingSlash = (value: string) => value.replace(/\/+$/, "");

/**
 * The base URL gateways reach this node at, announced as `<publicUrl>/trpc`: an http(s) URL without
 * credentials, query, fragment or white space, which a gateway would refuse in the announcement.
 * Checked when the config is read (and by `pocket-node check`), not at the first announcement. A
 * trailing slash is dropped (`https://node.example/` announces `https://node.example/trpc`).
 */
const PublicUrl = z
  .string()
  .superRefine((value, ctx) => {
    const problem = publicUrlProblem(value);
    if (problem !== undefined)
      ctx.addIssue({
        code: "custom",
        message: `${problem}: set it to the base URL gateways reach this node at, e.g. https://node.example.org:8545`,
      });
  })
  .transform(withoutTrailingSlash);

/** The whole node configuration file (JSON or YAML). */
export const NodeConfig = z.strictObject({
  /** Hex secp256k1 private key, or use `privateKeyFile`. Env: `POCKET_NODE__PRIVATE_KEY`. */
  privateKey: z
    .string()
    .regex(/^[0-9a-fA-F]{64}$/, "must be 64 hex characters")
    .optional(),
  /** File holding the hex private key (created by `pocket-node keys generate`). */
  privateKeyFile: z.string().min(1).optional(),
  listen: z
    .strictObject({
      host: z.string().default("127.0.0.1"),
      port: z.number().int().min(0).max(65535).default(8545),
    })
    .prefault({}),
  /** URL gateways use to reach this node (defaults to http://host:port). */
  publicUrl: PublicUrl.optional(),
  /** The node runner's name, announced to gateways, which cap the share of traffic one operator gets. */
  operator: announced.operator,
  /** Folder for the SQLite file and the key file. */
  dataDir: z.string().default("./.data/node"),
  /**
   * The gateways served, registered with and claimed from. Empty: relays signed by any gateway are
   * served, but the node registers with none and claims none (a claim goes to a gateway's `url`).
   */
  gateways: z.array(GatewayLink).default([]),
  /** Must match the gateways' session parameters (they are checked at registration). */
  session: ClockSessionParams.default({
    mode: "time",
    genesisMs: 0,
    sessionLengthMs: 600_000,
    graceMs: 60_000,
  }),
  services: z.array(ServedService).min(1),
  /** Announced as it is: the protocol's limits on announced text and numbers apply. */
  hardware: z
    .strictObject({
      gpu: announced.hardware.shape.gpu.default("none"),
      vramGb: announced.hardware.shape.vramGb.default(0),
      cpuOnly: z.boolean().default(false),
    })
    .prefault({}),
  /** Operator additions or overrides to the default service catalog. */
  catalog: CatalogOverrides.optional(),
  /** How relays are weighed in claims: fixed per call (Pocket's way) or by tokens. */
  weighting: z.enum(["per-call", "per-token"]).default("per-call"),
  /**
   * How often a streamed relay's chain head is signed: every `everyChunks` chunks or `everyMs`
   * milliseconds, and always the first and the final chunk (docs/security.md). A stream broken
   * between heads is paid only up to the last head; signing less often costs less CPU per token.
   */
  streamHeads: z
    .strictObject({
      everyChunks: z.int().min(1).max(1024).default(16),
      everyMs: z.int().min(0).max(3_600_000).default(200),
    })
    .prefault({}),
  /**
   * Text relays from a gateway of `gateways` that signed its count of the input (`inputCount`, by
   * this node's tokenizer family) are billed and limited by that count instead of the node's
   * tokenizer, except one in `countAuditEvery`, drawn at random, which the node counts and
   * compares. A gateway caught with a wrong count is counted on every relay after. 1: the node
   * counts every relay (docs/security.md, "Input counts").
   */
  countAuditEvery: z.int().min(1).max(1_000_000).default(16),
  /**
   * The relay ledger (SQLite, hashes and counts only). `keepSettledMs`: how long the rows of a
   * session whose claim settled (proven or rejected), and refused relays of a session past its
   * grace, are kept before the claim loop deletes them; the claim keeps the session's totals.
   * Without it the ledger would grow with every relay the node ever served, and the claim loop's
   * search for sessions to claim with it.
   */
  ledger: z
    .strictObject({
      keepSettledMs: z
        .int()
        .min(0)
        .max(30 * 24 * 3_600_000)
        .default(600_000),
    })
    .prefault({}),
  logLevel: z.enum(["debug", "info", "warn", "error"]).default("info"),
  /** Span export (`telemetry.otlpEndpoint`); off by default. */
  telemetry: TelemetryConfig.optional(),
  /**
   * `metrics.token`: `GET /metrics` only with `Authorization: Bearer <token>`; `metrics.public`:
   * open to anyone; neither: only scrapes from this machine's loopback address.
   */
  metrics: MetricsConfig.optional(),
  /**
   * Processes that serve relays, sharing the node's port, key and ledger (docs/node-workers.md):
   * one process carries a few thousand streamed tokens per second; a node in front of a GPU that
   * produces more runs several. Each backend's `maxConcurrency` and `maxQueue` are shared out among
   * them. `gguf` backends (a model loaded in-process) need 1.
   */
  workers: z.int().min(1).max(64).default(1),
  /**
   * Requests as they arrive, before any signature is checked (anyone can reach a node's port):
   * `timeoutMs`, the longest a request may take to arrive whole, head and body (a relay body is at
   * most 32 MiB: 60 s carries it at 10 Mbit/s), after which it is answered 408 and its connection
   * closed; `bodyBudgetBytes`, the bytes of relay bodies this process holds while they arrive, all
   * connections together: a body that would go past it is refused at once with `503 NODE_BUSY`
   * (the gateway tries another node). Below 32 MiB the largest image relays never fit.
   * `bodyShareBytes`, the most of that budget one network (an IPv4 address, an IPv6 /64) holds at
   * once, so that one stranger's slow uploads cannot take what every gateway's relays need: past
   * it that network's bodies are refused `503 NODE_BUSY` while others' still pass (default: an
   * eighth of the budget, never below one 32 MiB body); the /64s of one IPv6 /48 hold at most
   * twice that together, so that a /56 or /48 holder cannot fill the budget from eight /64s. A
   * body larger than the share (set below 32 MiB, a text-only node) is refused at once, its
   * message saying it never fits this node. Bodies from `unsharedSources` (addresses
   * or CIDR blocks; default this machine's loopback, where a reverse proxy beside the node sends
   * every caller's request from) count only against the whole budget.
   */
  requests: z
    .strictObject({
      timeoutMs: z.int().min(1_000).max(600_000).default(60_000),
      bodyBudgetBytes: z
        .int()
        .min(1024 * 1024)
        .max(64 * 1024 * 1024 * 1024)
        .default(256 * 1024 * 1024),
      bodyShareBytes: z
        .int()
        .min(1024 * 1024)
        .max(64 * 1024 * 1024 * 1024)
        .optional(),
      unsharedSources: z
        .array(
          z.string().superRefine((block, ctx) => {
            const problem = addressBlockProblem(block);
            if (problem !== undefined) ctx.addIssue({ code: "custom", message: problem });
          }),
        )
        .default([...LOOPBACK_BLOCKS]),
    })
    .prefault({}),
  /** On SIGTERM, how long in-flight relays may take to finish before connections are closed. */
  shutdownDrainMs: z.number().int().min(0).max(600_000).default(10_000),
});
export type NodeConfig = z.infer<typeof NodeConfig>;
