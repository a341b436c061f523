import type { Catalog } from "./catalog.js";
import { MEASURED_SERVICES, TEXT_OPERATIONS } from "./default-measured-services.js";
import { seedTextTiers } from "./default-text-tiers.js";
import type { ServiceSpec } from "./service-spec.js";

const services: ServiceSpec[] = [
  {
    id: "llama-2-13b",
    kind: "text",
    class: "model",
    displayName: "Llama 2 13B",
    description: "Meta's Llama 2 at 13B parameters (chat-tuned): writing, summaries, question answering.",
    modelFamily: "llama-2",
    operations: [...TEXT_OPERATIONS],
    aliases: ["meta-llama/Llama-2-13b-chat-hf", "llama-2-13b-chat", "llama2:13b"],
    tiers: seedTextTiers({
      standard: 750,
      batch: 500,
      standardHardware: {
        minVramGb: 16,
        gpuClass: "consumer-16gb",
        cpuAcceptable: false,
        notes: "≥ 16 GB VRAM for 8-bit weights; about 10 GB at 4-bit (GPTQ, AWQ or GGUF Q4).",
      },
      batchNotes: "Low-end GPU, or a CPU with ≥ 16 GB RAM running 4-bit GGUF weights (llama.cpp, Ollama).",
      longContextHardware: {
        minVramGb: 24,
        gpuClass: "consumer-24gb",
        cpuAcceptable: false,
        notes: "8-bit weights plus the KV cache of a full 4096-token window need about 24 GB VRAM.",
      },
    }),
  },
  {
    id: "mistral-7b",
    kind: "text",
    class: "model",
    displayName: "Mistral 7B",
    description: "Mistral AI's 7B instruction model; an alternative to Llama 2 for A/B comparisons.",
    modelFamily: "mistral",
    operations: [...TEXT_OPERATIONS],
    aliases: ["mistralai/Mistral-7B-Instruct-v0.2", "mistral-7b-instruct", "mistral:7b"],
    tiers: seedTextTiers({
      standard: 750,
      batch: 500,
      standardHardware: {
        minVramGb: 10,
        gpuClass: "consumer-12gb",
        cpuAcceptable: false,
        notes: "≥ 10 GB VRAM for 8-bit weights; about 6 GB at 4-bit.",
      },
      batchNotes: "Low-end GPU, or a CPU with ≥ 8 GB RAM running 4-bit GGUF weights (llama.cpp, Ollama).",
      longContextHardware: {
        minVramGb: 16,
        gpuClass: "consumer-16gb",
        cpuAcceptable: false,
        notes: "8-bit weights plus the KV cache of a full 4096-token window fit in 16 GB VRAM.",
      },
    }),
  },
  {
    id: "stable-diffusion",
    kind: "image",
    class: "model",
    displayName: "Stable Diffusion",
    description: "Text-to-image, image-to-image, inpainting (with a mask) and outpainting (with padding).",
    modelFamily: "stable-diffusion",
    operations: ["images.generations", "images.edits"],
    aliases: ["stabilityai/stable-diffusion-2-1", "runwayml/stable-diffusion-v1-5", "sd"],
    tiers: [
      {
        id: "standard",
        description: "GPU tier; priced per standard 512×512 image.",
        priceMicroUsd: 18_000,
        computeUnitsPerRelay: 18_000,
        timeoutMs: 120_000,
        limits: {
          maxWidth: 1024,
          maxHeight: 1024,
          maxSteps: 50,
          maxImages: 4,
          standardWidth: 512,
          standardHeight: 512,
        },
        hardware: {
          minVramGb: 8,
          gpuClass: "consumer-8gb",
          cpuAcceptable: false,
          notes: "8 GB VRAM serves SD 1.5/2.1 up to 1024×1024; 12 GB or more for SDXL-class weights.",
        },
      },
      {
        id: "batch",
        description: "Slow, cheaper tier; priced per standard 512×512 image; low-end GPUs or CPUs serve it.",
        priceMicroUsd: 12_000,
        computeUnitsPerRelay: 12_000,
        timeoutMs: 600_000,
        limits: {
          maxWidth: 1024,
          maxHeight: 1024,
          maxSteps: 50,
          maxImages: 4,
          standardWidth: 512,
          standardHeight: 512,
        },
        hardware: {
          minVramGb: 0,
          gpuClass: "low-end-or-cpu",
          cpuAcceptable: true,
          notes: "A 4–6 GB GPU, or a CPU taking minutes per image.",
        },
      },
    ],
  },
  ...MEASURED_SERVICES,
  {
    id: "nomic-embed-text",
    kind: "embedding",
    class: "model",
    displayName: "Nomic Embed Text",
    description:
      "Nomic's text embedding model (768 dimensions): search, clustering and retrieval for RAG. Priced per call, up to 64 inputs a call.",
    modelFamily: "nomic-embed",
    operations: ["embeddings"],
    aliases: ["nomic-ai/nomic-embed-text-v1.5", "nomic-embed-text:latest", "nomic-embed-text-v1.5"],
    tiers: [
      {
        id: "standard",
        description: "Per call of up to 64 inputs of 512 tokens each; CPUs serve it well.",
        priceMicroUsd: 50,
        computeUnitsPerRelay: 50,
        timeoutMs: 30_000,
        limits: { maxTokensPerInput: 512, maxInputs: 64, dimensions: 768 },
        hardware: {
          minVramGb: 0,
          gpuClass: "cpu-or-any-gpu",
          cpuAcceptable: true,
          notes: "A 137M-parameter model: any GPU, or a CPU with 1 GB RAM (GGUF via llama.cpp or Ollama).",
        },
      },
    ],
  },
];

/**
 * The default service catalog, built from the seed proposal's numbers: model-named services
 * (`llama-2-13b`, `mistral-7b`: 750 µUSD standard / 500 µUSD batch per call, 200 input and 1000
 * output tokens; a 4K `long-context` tier; `stable-diffusion`: 18000 µUSD per 512×512 image;
 * `nomic-embed-text`: 50 µUSD per embeddings call of up to 64 inputs) and the
 * measured services the debate asked for (`quality-gpt-3.5`, `quality-gpt-4`, `skill-coding`,
 * `skill-creative`, `skill-instruction`). Operators adjust it with {@link mergeCatalog}.
 *
 * @example
 * ```ts
 * findService(DEFAULT_CATALOG, "llama-2-13b")?.tiers[0]?.priceMicroUsd; // 750
 * ```
 *
 * The object is deeply frozen: derive a new catalog with {@link mergeCatalog} instead of editing it.
 */
export const DEFAULT_CATALOG: Catalog = deepFreeze({ version: "pocket-ai-default/1", services });

/** Freezes shared default data so no app can change it for every other importer by accident. */
function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
