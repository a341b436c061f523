import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { describe, expect, it } from "vitest";

const root = new URL("../../../", import.meta.url);
const { narrowLlamaBinaryCpu } = createRequire(import.meta.url)(new URL(".pnpmfile.cjs", root).pathname) as {
  narrowLlamaBinaryCpu: (pkg: { name?: string; cpu?: string[] }) => { name?: string; cpu?: string[] };
};

describe("llama.cpp's prebuilt binaries install on their own architecture only", () => {
  it("the pnpmfile hook narrows each binary's cpu list to the architecture in its name", () => {
    const narrowed = (name: string, cpu: string[]) => narrowLlamaBinaryCpu({ name, cpu }).cpu;
    expect(narrowed("@node-llama-cpp/linux-arm64", ["arm64", "x64"])).toEqual(["arm64"]);
    expect(narrowed("@node-llama-cpp/linux-armv7l", ["arm", "x64"])).toEqual(["arm"]);
    expect(narrowed("@node-llama-cpp/linux-x64-vulkan", ["x64"])).toEqual(["x64"]);
    expect(narrowed("@node-llama-cpp/mac-arm64-metal", ["arm64", "x64"])).toEqual(["arm64"]);
    // Anything else is left as published.
    expect(narrowed("@esbuild/linux-arm64", ["arm64", "x64"])).toEqual(["arm64", "x64"]);
    expect(narrowed("@node-llama-cpp/linux-unknownarch", ["arm64", "x64"])).toEqual(["arm64", "x64"]);
    expect(narrowLlamaBinaryCpu({ name: "node-llama-cpp" })).toEqual({ name: "node-llama-cpp" });
  });

  it("the lockfile records the narrowed lists, so a frozen install on x64 skips the Arm binaries", () => {
    const lockfile = readFileSync(new URL("pnpm-lock.yaml", root), "utf8");
    const entries = [...lockfile.matchAll(/^ {2}'(@node-llama-cpp\/[^@']+)@[^']+':\n((?: {4}.*\n)+)/gm)];
    // The `packages` section lists each binary's cpu (its `snapshots` entry does not).
    const cpus: Record<string, string> = {};
    for (const [, name, body] of entries) {
      const cpu = /^ {4}cpu: \[(.*)\]$/m.exec(body!)?.[1];
      if (cpu !== undefined) cpus[name!] = cpu;
    }
    expect(cpus["@node-llama-cpp/linux-x64"]).toBe("x64");
    expect(cpus["@node-llama-cpp/linux-arm64"]).toBe("arm64");
    expect(cpus["@node-llama-cpp/linux-armv7l"]).toBe("arm");
    for (const [name, cpu] of Object.entries(cpus)) expect(cpu, name).not.toContain(",");
  });
});
