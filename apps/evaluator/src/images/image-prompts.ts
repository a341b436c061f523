import type { Rng } from "../runs/rng.js";

/**
 * Random image prompts that read like what people ask a Stable Diffusion node for: a subject, a
 * place, a look and sometimes a light or a camera note, in one of a few sentence shapes. The word
 * lists are this project's own; with thousands of combinations per shape a node cannot keep
 * answers ready, and two probes of one run almost never share a prompt (`distinctPrompts`).
 */
const SUBJECTS = [
  "a red fox",
  "an old lighthouse",
  "a paper boat",
  "a sleeping cat",
  "a steam locomotive",
  "a glass greenhouse",
  "a lone cyclist",
  "a wooden windmill",
  "a bowl of ripe plums",
  "a hot air balloon",
  "a stone bridge",
  "a tiny robot",
  "a fishing village",
  "a grand piano",
  "an owl on a branch",
  "a market stall",
  "a mountain cabin",
  "a vintage car",
];
const PLACES = [
  "in fresh snow",
  "on a foggy harbour",
  "in a field of sunflowers",
  "beside a quiet canal",
  "under a starry sky",
  "in a busy street",
  "on a windswept cliff",
  "in a bamboo forest",
  "at the edge of a desert",
  "in an abandoned station",
  "on a rainy rooftop",
  "in a walled garden",
];
const LOOKS = [
  "oil painting",
  "watercolour",
  "studio photograph",
  "ink sketch",
  "isometric illustration",
  "35mm film photo",
  "children's book illustration",
  "low-poly render",
  "charcoal drawing",
  "matte painting",
];
const LIGHTS = [
  "golden hour",
  "soft morning light",
  "dramatic backlight",
  "overcast",
  "neon glow",
  "candlelight",
];
const EXTRAS = ["highly detailed", "wide angle", "shallow depth of field", "muted colours", "vivid colours"];
const NEGATIVES = [
  "blurry, low quality",
  "text, watermark",
  "extra limbs, deformed",
  "oversaturated",
  "jpeg artifacts",
];

export interface ImagePrompt {
  readonly prompt: string;
  /** Sent as `negative_prompt` when present, as many SD clients do. */
  readonly negative: string | undefined;
}

export function randomImagePrompt(rng: Rng): ImagePrompt {
  const subject = rng.pick(SUBJECTS);
  const place = rng.pick(PLACES);
  const look = rng.pick(LOOKS);
  const shapes = [
    () => `${subject} ${place}, ${look}`,
    () => `${look} of ${subject} ${place}, ${rng.pick(LIGHTS)}`,
    () => `${subject} ${place}, ${rng.pick(LIGHTS)}, ${look}, ${rng.pick(EXTRAS)}`,
    () => `${capitalised(subject)} ${place}. ${capitalised(look)}, ${rng.pick(EXTRAS)}.`,
  ];
  const prompt = rng.pick(shapes)();
  return { prompt, negative: rng.next() < 0.4 ? rng.pick(NEGATIVES) : undefined };
}

const capitalised = (text: string) => text.charAt(0).toUpperCase() + text.slice(1);
