import { createNodeAnnouncement, type KeyPair, type SignedNodeServiceOffer } from "@pocket-ai/protocol";

/** A text service offer of the default catalog's `llama-2-13b`, every capability on. */
export const TEXT_OFFER = {
  serviceId: "llama-2-13b",
  tiers: ["standard"],
  model: { declared: "llama-2-13b", quantization: "none" },
  capabilities: {
    completions: true,
    chat: true,
    streaming: true,
    promptLogprobs: true,
    logprobs: true,
    seed: true,
    tokenize: true,
    images: null,
  },
  tokenizer: { kind: "dev" as const, exact: true },
};

/** `key`'s signed announcement of `offer` ({@link TEXT_OFFER} by default) at `endpoint`, issued at `issuedAt`. */
export const textNodeAnnouncement = (
  key: KeyPair,
  endpoint: string,
  issuedAt: number,
  offer: SignedNodeServiceOffer = TEXT_OFFER,
) =>
  createNodeAnnouncement(
    {
      endpoint,
      services: [offer],
      hardware: { gpu: "none", vramGb: 0, cpuOnly: true },
      software: { name: "t", version: "1" },
      issuedAt,
    },
    key,
  );
