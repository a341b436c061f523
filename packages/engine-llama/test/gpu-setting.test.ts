import { mkdtempSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { tinyModelPath } from "@pocket-ai/tiny-model";
import { describe, expect, it } from "vitest";
import { describePlacement, LlamaEngineError, openLlamaModel } from "../src/index.js";

// The GPU builds node-llama-cpp can find next to it (the workspace installs none of them).
const fromBinding = createRequire(createRequire(import.meta.url).resolve("node-llama-cpp"));
const platform =
  { linux: "linux", win32: "win", darwin: "mac" }[process.platform as string] ?? process.platform;
const installed = (gpu: string) => {
  try {
    fromBinding.resolve(`@node-llama-cpp/${platform}-${process.arch}-${gpu}/package.json`);
    return true;
  } catch {
    return false;
  }
};
const noGpuBuild = !installed("vulkan") && !installed("cuda") && !installed("metal");

async function openError(gpu: "vulkan" | "metal") {
  const error = await openLlamaModel({ modelPath: tinyModelPath(), gpu, threads: 1 }).then(
    async (model) => {
      await model.close();
      throw new Error(`gpu: ${gpu} opened the model on ${model.placement.summary}`);
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(LlamaEngineError);
  return error as LlamaEngineError;
}

describe("the engine's gpu setting", () => {
  // First: node-llama-cpp looks for GPU drivers once per process (`metal` off a Mac looks too).
  it.skipIf(process.platform !== "linux" || !noGpuBuild)(
    "gpu: auto on a machine with a GPU driver but no GPU build runs on the CPU and says why",
    async () => {
      // node-llama-cpp takes a libvulkan found on LD_LIBRARY_PATH for a Vulkan driver.
      const lib = mkdtempSync(join(tmpdir(), "vulkan-driver-"));
      writeFileSync(join(lib, "libvulkan.so.1"), "");
      const before = process.env.LD_LIBRARY_PATH;
      process.env.LD_LIBRARY_PATH = lib;
      try {
        const model = await openLlamaModel({ modelPath: tinyModelPath(), gpu: "auto", threads: 1 });
        try {
          expect(model.gpu).toBe(false);
          expect(model.placement.gpuLayers).toBe(0);
          expect(model.placement.note).toMatch(
            /^gpu: auto found a (cuda and )?vulkan driver but no llama.cpp build for it loaded, so the CPU runs the model/,
          );
          expect(model.placement.summary).toBe(`CPU: ${model.placement.note}`);
        } finally {
          await model.close();
        }
      } finally {
        if (before === undefined) delete process.env.LD_LIBRARY_PATH;
        else process.env.LD_LIBRARY_PATH = before;
      }
    },
    120_000,
  );
  it.skipIf(installed("vulkan"))(
    "a named GPU whose llama.cpp build is not installed stops the load instead of running on the CPU",
    async () => {
      const error = await openError("vulkan");
      expect(error.code).toBe("GGUF_ENGINE_UNAVAILABLE");
      expect(error.message).toBe(
        `GGUF_ENGINE_UNAVAILABLE: llama.cpp's vulkan build could not be loaded: install it and its driver (docs/node-gguf.md, "GPU"), or set gpu: auto`,
      );
    },
    120_000,
  );

  it.skipIf(process.platform === "darwin")(
    "metal off a Mac is refused, although node-llama-cpp reads it as auto",
    async () => {
      const error = await openError("metal");
      expect(error.code).toBe("GGUF_ENGINE_UNAVAILABLE");
      expect(error.message).toContain("llama.cpp's metal build is not available on this platform");
    },
    120_000,
  );
});

describe("describePlacement", () => {
  it("names the backend, the layers offloaded and the devices", () => {
    const where = { gpu: "vulkan", gpuLayers: 5, totalLayers: 5, devices: ["NVIDIA H200"], note: undefined };
    expect(describePlacement(where)).toBe("vulkan: 5 of 5 layers on NVIDIA H200");
    expect(describePlacement({ ...where, gpuLayers: 3, devices: [] })).toBe("vulkan: 3 of 5 layers");
    expect(describePlacement({ ...where, gpu: false, gpuLayers: 0, devices: [] })).toBe("CPU");
  });
});
