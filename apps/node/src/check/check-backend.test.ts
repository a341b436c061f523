import { Effect } from "effect";
import { afterEach, describe, expect, it } from "vitest";
import { backendConfig } from "../../test/fakes/backend-config.js";
import { startFakeA1111 } from "../../test/fakes/fake-a1111.js";
import { type FakeTextFlavor, startFakeVllm } from "../../test/fakes/fake-vllm.js";
import { makeBackend } from "../backends/make-backend.js";
import type { BackendConfig } from "../config/node-config.js";
import { formatProbeReport, type ProbeReport, probeBackend } from "./check-backend.js";

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(closers.splice(0).map((close) => close()));
});

async function probeText(
  flavor: FakeTextFlavor,
  declaredKind: BackendConfig["kind"] = flavor,
  model = "engine-model",
) {
  const fake = await startFakeVllm({ flavor, model: "engine-model" });
  closers.push(fake.close);
  const config = backendConfig({ kind: declaredKind, url: fake.url, model, timeoutMs: 5_000 });
  return Effect.runPromise(probeBackend(makeBackend(config, "text"), config));
}

const row = (report: ProbeReport, check: string) => report.rows.find((r) => r.check === check);

describe("probeBackend", () => {
  it("confirms everything vLLM declares", async () => {
    const report = await probeText("vllm");
    expect(report.ok).toBe(true);
    expect(row(report, "prompt logprobs (echo)")).toMatchObject({ declared: true, observed: "yes" });
    expect(row(report, "streaming")?.detail).toContain("usage included");
    expect(row(report, "models listed")?.detail).toBe("engine-model");
    expect(report.rows.map((r) => r.check)).toEqual([
      "reachable",
      "models listed",
      "completions",
      "chat",
      "prompt logprobs (echo)",
      "logprobs",
      "seed",
      "streaming",
      "tokenize",
    ]);
  });

  it("agrees with llama.cpp's, Ollama's and TGI's honest declarations", async () => {
    const llamacpp = await probeText("llamacpp");
    expect(llamacpp.ok).toBe(true);
    expect(row(llamacpp, "prompt logprobs (echo)")).toMatchObject({ declared: false, observed: "no" });
    const ollama = await probeText("ollama");
    expect(ollama.ok).toBe(true);
    expect(row(ollama, "tokenize")).toMatchObject({ declared: false, observed: "no" });
    const tgi = await probeText("tgi");
    expect(tgi.rows.filter((r) => !r.agrees)).toEqual([]);
    expect(row(tgi, "completions")).toMatchObject({ declared: false, observed: "no" });
    expect(row(tgi, "logprobs")).toMatchObject({
      declared: true,
      observed: "yes",
      detail: "chat token logprobs",
    });
  });

  it("catches an engine declared as vLLM that returns no prompt logprobs", async () => {
    const report = await probeText("llamacpp", "vllm");
    expect(report.ok).toBe(false);
    expect(row(report, "prompt logprobs (echo)")).toMatchObject({
      declared: true,
      observed: "no",
      agrees: false,
      detail: "echo ignored: the answer does not start with the prompt",
    });
    expect(formatProbeReport(report)).toMatch(/prompt logprobs \(echo\)\s+yes\s+no\s+MISMATCH/);
  });

  it("reports a configured model the engine does not serve", async () => {
    const report = await probeText("vllm", "vllm", "other-model");
    expect(row(report, "models listed")).toMatchObject({ observed: "no", agrees: false });
  });

  it("stops at an unreachable backend", async () => {
    const config = backendConfig({ kind: "vllm", url: "http://127.0.0.1:9", timeoutMs: 2_000 });
    const report = await Effect.runPromise(probeBackend(makeBackend(config, "text"), config));
    expect(report).toMatchObject({ ok: false, rows: [{ check: "reachable", observed: "error" }] });
  });

  it("probes image backends", async () => {
    const fake = await startFakeA1111();
    closers.push(fake.close);
    const config = backendConfig({ kind: "a1111", url: fake.url, timeoutMs: 5_000 });
    const report = await Effect.runPromise(probeBackend(makeBackend(config, "image"), config));
    expect(report.rows.map((r) => [r.check, r.observed])).toEqual([
      ["reachable", "yes"],
      ["models listed", "yes"],
      ["images: generate", "yes"],
      ["images: img2img", "yes"],
      ["images: inpaint", "yes"],
      ["images: outpaint", "yes"],
    ]);
    expect(report.ok).toBe(true);
  });

  it("confirms the development backend", async () => {
    for (const kind of ["text", "image"] as const) {
      const config = backendConfig({ kind: "dev" });
      const report = await Effect.runPromise(probeBackend(makeBackend(config, kind), config));
      expect(report.rows.filter((r) => !r.agrees)).toEqual([]);
    }
  });
});
