/**
 * ComfyUI workflows in its API format: a map of node id → `{class_type, inputs}`, where an input
 * that comes from another node is `[nodeId, outputIndex]`. Built only from ComfyUI's core nodes, so
 * any ComfyUI install with the configured checkpoint runs them.
 */
export type WorkflowInput = string | number | boolean | readonly [string, number];
export interface WorkflowNode {
  readonly class_type: string;
  readonly inputs: Readonly<Record<string, WorkflowInput>>;
}
export type Workflow = Readonly<Record<string, WorkflowNode>>;

/** The node whose images a run returns. */
export const OUTPUT_NODE = "save";

export interface SamplingFields {
  readonly checkpoint: string;
  readonly prompt: string;
  readonly negativePrompt: string;
  readonly seed: number;
  readonly steps: number;
  readonly cfg: number;
  readonly sampler: string;
  readonly scheduler: string;
  readonly batch: number;
}

/** Where the latent comes from: an empty canvas (txt2img) or an uploaded picture, maybe masked. */
export type LatentSource =
  | { readonly kind: "empty"; readonly width: number; readonly height: number }
  | { readonly kind: "image"; readonly image: string; readonly mask?: string | undefined };

/**
 * One workflow for every operation: checkpoint → prompts → latent → KSampler → VAE decode → preview.
 * txt2img samples an `EmptyLatentImage` at denoise 1; img2img encodes the uploaded picture and
 * samples it at `denoise` = strength; inpainting and outpainting add `SetLatentNoiseMask` with the
 * uploaded mask (white = repaint), so pixels outside it come back as they went in.
 */
export function buildWorkflow(fields: SamplingFields, source: LatentSource, denoise: number): Workflow {
  const nodes: Record<string, WorkflowNode> = {
    checkpoint: { class_type: "CheckpointLoaderSimple", inputs: { ckpt_name: fields.checkpoint } },
    positive: { class_type: "CLIPTextEncode", inputs: { text: fields.prompt, clip: ["checkpoint", 1] } },
    negative: {
      class_type: "CLIPTextEncode",
      inputs: { text: fields.negativePrompt, clip: ["checkpoint", 1] },
    },
  };
  let latent: readonly [string, number];
  if (source.kind === "empty") {
    nodes.latent = {
      class_type: "EmptyLatentImage",
      inputs: { width: source.width, height: source.height, batch_size: fields.batch },
    };
    latent = ["latent", 0];
  } else {
    nodes.load = { class_type: "LoadImage", inputs: { image: source.image } };
    nodes.encode = { class_type: "VAEEncode", inputs: { pixels: ["load", 0], vae: ["checkpoint", 2] } };
    latent = ["encode", 0];
    if (source.mask !== undefined) {
      nodes.mask = { class_type: "LoadImageMask", inputs: { image: source.mask, channel: "red" } };
      nodes.masked = { class_type: "SetLatentNoiseMask", inputs: { samples: latent, mask: ["mask", 0] } };
      latent = ["masked", 0];
    }
    if (fields.batch > 1) {
      nodes.batch = { class_type: "RepeatLatentBatch", inputs: { samples: latent, amount: fields.batch } };
      latent = ["batch", 0];
    }
  }
  nodes.sampler = {
    class_type: "KSampler",
    inputs: {
      model: ["checkpoint", 0],
      positive: ["positive", 0],
      negative: ["negative", 0],
      latent_image: latent,
      seed: fields.seed,
      steps: fields.steps,
      cfg: fields.cfg,
      sampler_name: fields.sampler,
      scheduler: fields.scheduler,
      denoise,
    },
  };
  nodes.decode = { class_type: "VAEDecode", inputs: { samples: ["sampler", 0], vae: ["checkpoint", 2] } };
  // PreviewImage writes to ComfyUI's temp folder (emptied when it restarts), not its output folder.
  nodes[OUTPUT_NODE] = { class_type: "PreviewImage", inputs: { images: ["decode", 0] } };
  return nodes;
}
