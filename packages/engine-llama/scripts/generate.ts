/**
 * Loads a GGUF model with the engine and prints where it runs (compute backend, layers offloaded,
 * GPU names), a greedy completion of a prompt and the generation speed, as one JSON line. An
 * operator runs it to check a GPU install before starting a node (docs/node-gguf.md, "GPU"):
 *
 *   pnpm --filter @pocket-ai/engine-llama generate -- --model /models/m.gguf --gpu vulkan
 *
 * Flags: --model PATH (default: the project's tiny model), --gpu auto|off|cuda|vulkan|metal
 * (default auto), --prompt TEXT, --tokens N (default 64), --threads N.
 */
import { parseArgs } from "node:util";
import { type LlamaGpuSetting, openLlamaModel } from "../src/index.js";

const GPU_SETTINGS: readonly LlamaGpuSetting[] = ["auto", "off", "cuda", "vulkan", "metal"];

const { values } = parseArgs({
  options: {
    model: { type: "string" },
    gpu: { type: "string", default: "auto" },
    prompt: { type: "string", default: "The capital of France is" },
    tokens: { type: "string", default: "64" },
    threads: { type: "string" },
  },
});
const gpu = values.gpu as LlamaGpuSetting;
if (!GPU_SETTINGS.includes(gpu)) {
  console.error(`--gpu must be one of ${GPU_SETTINGS.join(", ")}`);
  process.exit(2);
}
const modelPath: string = values.model ?? (await import("@pocket-ai/tiny-model")).tinyModelPath();

const loadStart = performance.now();
const model = await openLlamaModel({
  modelPath,
  gpu,
  ...(values.threads === undefined ? {} : { threads: Number(values.threads) }),
}).catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exit(1);
});
const loadMs = performance.now() - loadStart;

const argmax = (row: Float64Array) => {
  let best = 0;
  for (let i = 1; i < row.length; i++) if (row[i]! > row[best]!) best = i;
  return best;
};

const prompt = [
  ...(model.addBos && model.bos !== undefined ? [model.bos] : []),
  ...model.tokenize(values.prompt),
];
const budget = Math.min(Number(values.tokens), model.contextSize - prompt.length);
const sequence = await model.acquire();
const generated: number[] = [];
const promptStart = performance.now();
let [row] = await sequence.append(prompt, "last");
const generateStart = performance.now();
while (generated.length < budget) {
  const next = argmax(row!);
  if (model.isEndOfGeneration(next)) break;
  generated.push(next);
  if (generated.length === budget) break;
  [row] = await sequence.append([next], "last");
}
const generateMs = performance.now() - generateStart;
sequence.release();

console.log(
  JSON.stringify({
    model: model.name,
    gpuSetting: gpu,
    placement: model.placement,
    loadMs: Math.round(loadMs),
    promptTokens: prompt.length,
    promptMs: Math.round((generateStart - promptStart) * 10) / 10,
    generatedTokens: generated.length,
    tokensPerSecond: Math.round((generated.length / (generateMs / 1000)) * 10) / 10,
    text: model.detokenize(generated),
  }),
);
await model.close();
