import { z } from "zod";

/**
 * One customer relay a gateway set aside for an organic check: the served node, the prompt, the
 * node's output and the sampling parameters. Held in the gateway's memory only until an evaluator
 * takes it (or a few minutes), handed over once, and never stored by either side — the evaluator
 * keeps only the score and hashes.
 *
 * @example
 * OrganicSample.parse({ nodeAddress: "pokt1…", serviceId: "llama-2-13b", prompt: "Hi", output: " there", params: { temperature: 0.7 } });
 */
export const OrganicSample = z.object({
  nodeAddress: z.string().min(1),
  serviceId: z.string().min(1),
  prompt: z.string(),
  output: z.string(),
  /** `temperature`, `top_p`, `max_tokens` and `seed` as the customer sent them. */
  params: z.record(z.string(), z.number()),
});
export type OrganicSample = z.infer<typeof OrganicSample>;

/** What `GET /v1/pocket/organic-samples?node=…` answers (evaluator keys only). */
export const OrganicSamples = z.object({ samples: z.array(OrganicSample) });
export type OrganicSamples = z.infer<typeof OrganicSamples>;

/** Where a gateway hands organic samples to evaluator keys, under its `/v1` base URL. */
export const ORGANIC_SAMPLES_PATH = "/pocket/organic-samples";
