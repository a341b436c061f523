import { NodeModelDeclaration, PoktAddress, ServiceId } from "@pocket-ai/protocol";
import { MetricsConfig, TelemetryConfig } from "@pocket-ai/runtime";
import { z } from "zod";

/** Where probes go: a gateway's OpenAI-compatible base URL and the evaluator's own application key. */
export const GatewayAccess = z.strictObject({
  /** e.g. `http://127.0.0.1:8080/v1`. */
  baseUrl: z.url(),
  /** An application key with role `evaluator`, so the gateway honours `x-pocket-target-node`. */
  apiKey: z.string().min(1),
  timeoutMs: z.number().int().min(100).default(60_000),
  /** Extra headers sent with every probe (e.g. an operator's routing header). */
  headers: z.record(z.string(), z.string()).default({}),
});
export type GatewayAccess = z.infer<typeof GatewayAccess>;

/**
 * A model's name as the evaluator's config names it (a node's `declaredModel`, a `references`
 * entry, the `scorer`): by the rule of a node's announced model (1–200 UTF-16 units, no control,
 * format, private-use or line-separator character), as these names are matched against what nodes
 * declare and shown in logs, terminals and on leaderboards.
 */
const ModelName = NodeModelDeclaration.shape.declared;

/** A node to evaluate: its address, the service it registered and the model it declares. */
export const EvaluatedNode = z.strictObject({
  address: PoktAddress,
  /** A catalog service id (a lowercase slug), as the node registered it. */
  serviceId: ServiceId,
  /** The model the gateway names in requests (the service id by default), by the model-name rule. */
  model: ModelName.optional(),
  /**
   * The model the node declares, by the rule of a node's announced model (1–200 UTF-16 units, no
   * control, format, private-use or line-separator character): it is published on the scoreboard
   * and shown on leaderboards and in terminals as it is.
   */
  declaredModel: ModelName.nullable().default(null),
  kind: z.enum(["text", "image"]).default("text"),
  /** Image nodes: the catalog tier whose limits bound probe sizes and steps (the service's default when absent). */
  tier: z.string().min(1).optional(),
  /**
   * `false`: measured and published, but never granted a quality tier (`qualifies` stays empty;
   * absent: granted as scores and checks allow):
   * a model whose scores say nothing about what customers would get (a test model that has seen
   * the task texts), or one the operator does not want selling quality services.
   */
  grantsTiers: z.boolean().optional(),
});
export type EvaluatedNode = z.infer<typeof EvaluatedNode>;

/**
 * A trusted endpoint serving a declared model, used for the model identity test: completions of
 * the node and of the reference are both scored by the reference (echo + logprobs). For image
 * nodes it paints the same requests as the node (same prompt, seed and parameters) and the
 * pictures are compared; an image node is looked up by its declared model, else by its service's.
 */
export const ReferenceModel = z.strictObject({
  /** Where the reference is reached; absent: the evaluator's own `gateway`, pinned to `targetNode`. */
  gateway: GatewayAccess.optional(),
  /** The model the reference is asked for, by the model-name rule (shown in logs and evidence). */
  model: ModelName,
  /** A node trusted to serve `model`, reached through the gateway like a probe. */
  targetNode: PoktAddress.optional(),
});
export type ReferenceModel = z.infer<typeof ReferenceModel>;

/**
 * Private pools of the texts probes carry besides their items (system messages, letter-question
 * instructions, identity and speed prompts): files in the pool format (`src/probe-text/
 * phrase-grammar.ts`), checked at start. A pool left out uses the public default, which anyone
 * can read (docs/security.md, "Public probe texts").
 */
export const ProbeTextFiles = z.strictObject({
  /** The first sentence of a system message. */
  systemOpeners: z.string().min(1).optional(),
  /** Further sentences a longer system message adds. */
  systemSentences: z.string().min(1).optional(),
  /** The request for a letter that ends a letter question. */
  letterInstructions: z.string().min(1).optional(),
  /** Short openings of a sentence for identity, fingerprint and speed probes. */
  openingPrompts: z.string().min(1).optional(),
});
export type ProbeTextFiles = z.infer<typeof ProbeTextFiles>;

const EvaluatorConfigFields = z.strictObject({
  /** Published as the scoreboard's `evaluator` (e.g. the evaluator's pokt1 address or name). */
  evaluatorId: z.string().min(1).default("pocket-ai-evaluator"),
  dataDir: z.string().default("./.data/evaluator"),
  logLevel: z.enum(["debug", "info", "warn", "error"]).default("info"),
  /** Span export (`telemetry.otlpEndpoint`); off by default. */
  telemetry: TelemetryConfig.optional(),
  /**
   * `metrics.token`: `GET /metrics` only with `Authorization: Bearer <token>`; `metrics.public`:
   * open to anyone; neither: only scrapes from this machine's loopback address.
   */
  metrics: MetricsConfig.optional(),
  listen: z
    .strictObject({
      host: z.string().default("127.0.0.1"),
      port: z.number().int().min(0).max(65535).default(8546),
    })
    .prefault({}),
  gateway: GatewayAccess,
  nodes: z.array(EvaluatedNode).default([]),
  /**
   * Declared model name → reference endpoint (image nodes without a declared model: the service's
   * model name). Nodes whose model has no entry are `untested`. Each name follows the rule of a
   * declared model (`ModelName`), checked at start.
   */
  references: z.record(z.string(), ReferenceModel).default({}),
  /**
   * The entry of `references` whose model scores the self-consistency organic checks of text nodes
   * without a reference of their own (no declared model, or one not in `references`); it must
   * answer `echo` + `logprobs`. Default: the first entry of `references` that a text node in
   * `nodes` declares. Text nodes with neither a reference nor a scorer are granted no quality tier.
   */
  scorer: ModelName.optional(),
  /** Task files (YAML/JSON); empty means the starter suite shipped in `src/tasks/starter`. */
  tasks: z.array(z.string()).default([]),
  run: z
    .strictObject({
      /** Probes per second sent to one node (token bucket); other nodes run in parallel. */
      perNodeRatePerSecond: z.number().positive().default(4),
      /** Nodes evaluated at once. */
      nodeConcurrency: z.number().int().min(1).default(4),
      /** Items per task per run (a random sample; 0 = all). */
      itemsPerTask: z.number().int().min(0).default(0),
      /** Random prompts for identity (shared backend and model tests). */
      identityPrompts: z.number().int().min(0).default(24),
      /** Streamed probes measuring TTFT and tokens per second. */
      speedProbes: z.number().int().min(0).default(8),
      /** Image nodes: probes with a random prompt, seed and size each. */
      imageProbes: z.number().int().min(0).default(12),
      /** Image nodes: probes repeated later in the run with the same prompt and seed. */
      imageSeedRepeats: z.number().int().min(0).default(4),
      /**
       * Image nodes: probes of each content check (a named colour; img2img strength; inpainting
       * keeps unmasked pixels; outpainting keeps the source).
       */
      imageContentProbes: z.number().int().min(0).default(3),
      /**
       * Image nodes whose model has a reference (`references`): requests sent to both, the two
       * pictures compared (txt2img and img2img alternately; `docs/evaluator.md`).
       */
      imageReferenceProbes: z.number().int().min(0).default(8),
      /** Image probes' longer side is a multiple of 64 in [min, max], and within the tier's limits. */
      imageMinSide: z.number().int().min(64).default(512),
      imageMaxSide: z.number().int().min(64).default(768),
      /**
       * Evidence carried across rounds: each earlier run's items weigh `evidenceDecay` times the
       * next one's, over at most `evidenceRounds` runs of the node on its service.
       */
      evidenceDecay: z.number().min(0).max(1).default(0.7),
      evidenceRounds: z.number().int().min(1).max(64).default(8),
      /** The mean gap between scheduled rounds over all nodes (each drawn from 0.5–1.5× it: `roundSchedule`). */
      roundIntervalMs: z.number().int().min(1000).default(3_600_000),
    })
    .prefault({}),
  /** Private probe-text pools (`ProbeTextFiles`); empty: the public defaults. */
  probeTexts: ProbeTextFiles.prefault({}),
});

export const EvaluatorConfig = EvaluatorConfigFields.superRefine((config, ctx) => {
  for (const [i, [name, ref]] of Object.entries(config.references).entries()) {
    // A bad name is not repeated in the message: it may be megabytes long or hold terminal escapes.
    if (!ModelName.safeParse(name).success) {
      ctx.addIssue({
        code: "custom",
        path: ["references"],
        message: `the name of entry ${i + 1} is no model name a node could declare: name each reference as its nodes declare their model (1–200 characters, no control, format, private-use or line-separator characters)`,
      });
      continue;
    }
    // Through the probes' gateway unpinned, any node serving the model would answer: not trusted.
    if (ref.gateway === undefined && ref.targetNode === undefined)
      ctx.addIssue({
        code: "custom",
        path: ["references", name],
        message: `reference '${name}' names neither a gateway nor a targetNode: give the trusted endpoint's gateway, or the trusted node's address as targetNode`,
      });
  }
  const names = Object.keys(config.references).filter((name) => ModelName.safeParse(name).success);
  // A scorer that is no model name is already refused, and not repeated here either.
  const scorer = config.scorer;
  if (scorer !== undefined && ModelName.safeParse(scorer).success && !names.includes(scorer))
    ctx.addIssue({
      code: "custom",
      path: ["scorer"],
      message: `'${scorer}' is not an entry of references: name one of ${names.join(", ") || "(none configured)"}, or add it there`,
    });
});
export type EvaluatorConfig = z.infer<typeof EvaluatorConfig>;
export type RunSettings = EvaluatorConfig["run"];
