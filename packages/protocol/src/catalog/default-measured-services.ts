import { seedTextTiers } from "./default-text-tiers.js";
import type { QualityTarget, TextServiceSpec } from "./service-spec.js";
import type { TierHardware } from "./tier-spec.js";

/** The operations every default text service offers. */
export const TEXT_OPERATIONS: readonly TextServiceSpec["operations"][number][] = [
  "completions",
  "chat.completions",
];

const GPT35_CLASS_HARDWARE: TierHardware = {
  minVramGb: 16,
  gpuClass: "consumer-16gb",
  cpuAcceptable: false,
  notes: "Any model that clears the bar; today a strong 7B–13B instruction model on a 16–24 GB GPU.",
};

const GPT35_BATCH_NOTES = "Any model that clears the bar, quantized on a low-end GPU or a CPU; slow is fine.";

/** A text service defined by a measured bar rather than by a model name. */
function measuredService(
  id: string,
  cls: "quality" | "skill",
  displayName: string,
  description: string,
  quality: QualityTarget,
  pricing: { standard: number; batch: number; standardHardware: TierHardware; batchNotes: string } = {
    standard: 750,
    batch: 500,
    standardHardware: GPT35_CLASS_HARDWARE,
    batchNotes: GPT35_BATCH_NOTES,
  },
): TextServiceSpec {
  return {
    id,
    kind: "text",
    class: cls,
    displayName,
    description,
    quality,
    operations: [...TEXT_OPERATIONS],
    tiers: seedTextTiers(pricing),
  };
}

/**
 * The quality-tier and skill services of the default catalog. A score is the evaluator's measured
 * score for the category on a 0..1 scale; a node belongs to the service when the lower bound of its
 * score's 95% confidence interval clears `minScore`. GPT-3.5-level services keep the seed's text
 * prices (750/500 µUSD); `quality-gpt-4` costs four times as much (3000/2000 µUSD), since the models
 * that reach it need roughly three to four times the VRAM.
 *
 * @example
 * ```ts
 * MEASURED_SERVICES.map((s) => s.id); // ["quality-gpt-3.5", "quality-gpt-4", "skill-coding", ...]
 * ```
 */
export const MEASURED_SERVICES: readonly TextServiceSpec[] = [
  measuredService(
    "quality-gpt-3.5",
    "quality",
    "GPT-3.5 quality",
    "Any model whose measured general score clears the GPT-3.5 bar; node runners pick the model.",
    { category: "general", minScore: 0.6, reference: "gpt-3.5" },
  ),
  measuredService(
    "quality-gpt-4",
    "quality",
    "GPT-4 quality",
    "Any model whose measured general score clears the GPT-4 bar; node runners pick the model.",
    { category: "general", minScore: 0.8, reference: "gpt-4" },
    {
      standard: 3000,
      batch: 2000,
      standardHardware: {
        minVramGb: 48,
        gpuClass: "datacenter",
        cpuAcceptable: false,
        notes: "Models at this level (70B-class dense or mixture-of-experts) need ≥ 48 GB VRAM at 4-bit.",
      },
      batchNotes: "Heavily quantized large models on 24 GB GPUs, or large-memory CPU machines; slow is fine.",
    },
  ),
  measuredService(
    "skill-coding",
    "skill",
    "Coding",
    "Models measured on code generation: functions that pass their unit tests.",
    { category: "coding", minScore: 0.45, reference: "gpt-3.5" },
  ),
  measuredService(
    "skill-creative",
    "skill",
    "Creative writing",
    "Models measured on creative, friendly writing.",
    { category: "creative", minScore: 0.6, reference: "gpt-3.5" },
  ),
  measuredService(
    "skill-instruction",
    "skill",
    "Instruction following",
    "Models measured on following instructions and planning.",
    { category: "instruction", minScore: 0.6, reference: "gpt-3.5" },
  ),
];
