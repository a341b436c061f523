import { Effect } from "effect";
import { afterEach, describe, expect, it } from "vitest";
import { backendConfig } from "../../test/fakes/backend-config.js";
import { startFakeA1111 } from "../../test/fakes/fake-a1111.js";
import {
  ENGINE_JSON_FEATURES,
  type FakeTextFeatures,
  type FakeTextFlavor,
  startFakeVllm,
} from "../../test/fakes/fake-vllm.js";
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
  options: {
    features?: Partial<FakeTextFeatures>;
    capabilities?: BackendConfig["capabilities"];
    serviceKind?: "text" | "embedding";
  } = {},
) {
  const features = { ...ENGINE_JSON_FEATURES[flavor], ...options.features };
  const fake = await startFakeVllm({ flavor, model: "engine-model", features });
  closers.push(fake.close);
  const config = backendConfig({
    kind: declaredKind,
    url: fake.url,
    model,
    timeoutMs: 5_000,
    ...(options.capabilities === undefined ? {} : { capabilities: options.capabilities }),
  });
  const serviceKind = options.serviceKind ?? "text";
  return Effect.runPromise(probeBackend(makeBackend(config, serviceKind), config, serviceKind));
}

/** check → [declared, observed, finding] for the probes of the parameters engines differ on. */
const parameterRows = (report: ProbeReport) =>
  Object.fromEntries(
    report.rows
      .filter((r) =>
        [
          "n",
          "tools",
          "forced tool choice",
          "token-id prompts",
          "JSON mode",
          "JSON schema",
          "embeddings",
        ].includes(r.check),
      )
      .map((r) => [r.check, [r.declared, r.observed, r.finding]]),
  );

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
      "n",
      "tools",
      "forced tool choice",
      "token-id prompts",
      "JSON mode",
      "JSON schema",
      "embeddings",
    ]);
    expect(report.rows.every((r) => r.finding === "ok")).toBe(true);
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
      finding: "error",
      detail: "echo ignored: the answer does not start with the prompt",
    });
    expect(formatProbeReport(report)).toMatch(/prompt logprobs \(echo\)\s+yes\s+no\s+ERROR/);
  });

  it("catches an engine that answers a chat without tools with a tool call", async () => {
    const fake = await startFakeVllm({
      flavor: "vllm",
      model: "engine-model",
      features: ENGINE_JSON_FEATURES.vllm,
    });
    closers.push(fake.close);
    fake.faults.uninvitedToolCall = { at: "first" };
    const config = backendConfig({ kind: "vllm", url: fake.url, model: "engine-model", timeoutMs: 5_000 });
    const report = await Effect.runPromise(probeBackend(makeBackend(config, "text"), config));
    expect(report.ok).toBe(false);
    expect(row(report, "chat")).toMatchObject({ declared: true, observed: "no", finding: "error" });
    expect(row(report, "chat")?.detail).toMatch(/offered no tools got a tool call/);
    // Only chats without tools are at fault: completions still pass.
    expect(row(report, "completions")).toMatchObject({ observed: "yes", finding: "ok" });
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

  it("reports n, tools, JSON mode, JSON schema and embeddings as vLLM's engine does them", async () => {
    const report = await probeText("vllm");
    expect(parameterRows(report)).toEqual({
      n: [true, "yes", "ok"],
      tools: [false, "no", "ok"],
      "forced tool choice": [false, "no", "ok"],
      "token-id prompts": [true, "yes", "ok"],
      "JSON mode": [true, "yes", "ok"],
      "JSON schema": [true, "yes", "ok"],
      embeddings: [false, "no", "ok"],
    });
    expect(row(report, "n")?.detail).toBe("n=2 gave two choices");
    expect(row(report, "tools")?.detail).toBe(
      "offered a tool and asked to use it, the answer is prose without a tool call",
    );
  });

  it("makes each declared capability the engine lacks an error finding that fails the check", async () => {
    // Declared as vLLM (n, JSON mode, JSON schema) and with tools by the operator, but the engine
    // ignores `n`, `response_format` and the tools: gateways would get silently wrong answers.
    const report = await probeText("vllm", "vllm", "engine-model", {
      features: { n: false, jsonMode: false, jsonSchema: false },
      capabilities: { tools: true, forcedToolChoice: true },
    });
    expect(report.ok).toBe(false);
    expect(parameterRows(report)).toEqual({
      n: [true, "no", "error"],
      tools: [true, "no", "error"],
      "forced tool choice": [true, "no", "error"],
      "token-id prompts": [true, "yes", "ok"],
      "JSON mode": [true, "no", "error"],
      "JSON schema": [true, "no", "error"],
      embeddings: [false, "no", "ok"],
    });
    expect(row(report, "n")?.detail).toBe("asked n=2, got 1 choice: n is ignored");
    expect(row(report, "JSON mode")?.detail).toBe(
      "response_format json_object ignored: the answer is not a JSON object",
    );
    const table = formatProbeReport(report);
    expect(table).toMatch(/\nn\s+yes\s+no\s+ERROR\s+asked n=2/);
    expect(table).toMatch(/\ntools\s+yes\s+no\s+ERROR/);
    expect(table).toMatch(/\nJSON schema\s+yes\s+no\s+ERROR/);
  });

  it("confirms tools declared for an engine started with tool calling, and JSON mode without a schema", async () => {
    const vllm = await probeText("vllm", "vllm", "engine-model", {
      features: { tools: true },
      capabilities: { tools: true, forcedToolChoice: true },
    });
    expect(vllm.ok).toBe(true);
    expect(row(vllm, "tools")).toMatchObject({ declared: true, observed: "yes", finding: "ok" });
    expect(row(vllm, "forced tool choice")).toMatchObject({ declared: true, observed: "yes", finding: "ok" });
    const ollama = await probeText("ollama");
    expect(ollama.ok).toBe(true);
    expect(parameterRows(ollama)).toEqual({
      n: [false, "no", "ok"],
      tools: [true, "yes", "ok"],
      // Ollama takes tools but ignores a forced choice (it called the first tool instead).
      "forced tool choice": [false, "no", "ok"],
      "token-id prompts": [false, "no", "ok"],
      "JSON mode": [true, "yes", "ok"],
      "JSON schema": [false, "no", "ok"],
      embeddings: [false, "no", "ok"],
    });
  });

  it("confirms parallel_tool_calls: false where the engine obeys it, and fails a declaration the engine ignores", async () => {
    // Both engines call every tool they are asked to use; llama.cpp keeps to one when told to.
    const obeys = await probeText("llamacpp", "llamacpp", "engine-model", {
      features: { tools: true, parallelToolCalls: true },
      capabilities: { tools: true },
    });
    expect(row(obeys, "single tool call")).toMatchObject({ declared: true, observed: "yes", finding: "ok" });
    expect(obeys.ok).toBe(true);
    const ignores = await probeText("vllm", "vllm", "engine-model", {
      features: { tools: true, parallelToolCalls: true, singleToolCall: false },
      capabilities: { tools: true, forcedToolChoice: true, singleToolCall: true },
    });
    expect(row(ignores, "single tool call")).toMatchObject({
      declared: true,
      observed: "no",
      finding: "error",
      detail: "parallel_tool_calls: false ignored: 2 tool calls in one answer",
    });
    expect(ignores.ok).toBe(false);
    expect(formatProbeReport(ignores)).toMatch(/\nsingle tool call\s+yes\s+no\s+ERROR/);
    // Ollama ignores the field, and declares so.
    const ollama = await probeText("ollama");
    expect(row(ollama, "single tool call")).toMatchObject({ declared: false, observed: "no", finding: "ok" });
    // An engine that makes no tool calls has nothing to keep to one: not probed.
    const toolless = await probeText("llamacpp");
    expect(row(toolless, "single tool call")).toBeUndefined();
  });

  it("notes, without failing, what the engine does beyond its declaration", async () => {
    // A llama.cpp build that returns `n` choices: the node just is not routed `n` requests.
    const report = await probeText("llamacpp", "llamacpp", "engine-model", { features: { n: true } });
    expect(row(report, "n")).toMatchObject({ declared: false, observed: "yes", finding: "note" });
    expect(report.ok).toBe(true);
    expect(formatProbeReport(report)).toMatch(/\nn\s+no\s+yes\s+note/);
  });

  it("probes only embeddings for an embedding service", async () => {
    const served = await probeText("vllm", "vllm", "engine-model", {
      features: { embeddings: true },
      serviceKind: "embedding",
    });
    expect(served.rows.map((r) => [r.check, r.observed, r.finding])).toEqual([
      ["reachable", "yes", "ok"],
      ["models listed", "yes", "ok"],
      ["embeddings", "yes", "ok"],
    ]);
    expect(row(served, "embeddings")?.detail).toBe("8 dimensions");
    // An engine started without its embeddings route (no `--task embed`): 404, declared, an error.
    const missing = await probeText("vllm", "vllm", "engine-model", { serviceKind: "embedding" });
    expect(row(missing, "embeddings")).toMatchObject({ declared: true, observed: "no", finding: "error" });
    expect(missing.ok).toBe(false);
  });

  it("agrees with the development backend on n, tools, JSON and embeddings", async () => {
    const config = backendConfig({ kind: "dev" });
    const text = await Effect.runPromise(probeBackend(makeBackend(config, "text"), config));
    expect(parameterRows(text)).toEqual({
      n: [true, "yes", "ok"],
      tools: [false, "no", "ok"],
      "forced tool choice": [false, "no", "ok"],
      "token-id prompts": [true, "yes", "ok"],
      "JSON mode": [false, "no", "ok"],
      "JSON schema": [false, "no", "ok"],
      embeddings: [false, "no", "ok"],
    });
    expect(text.ok).toBe(true);
    const embedding = await Effect.runPromise(
      probeBackend(makeBackend(config, "embedding"), config, "embedding"),
    );
    expect(embedding.rows.map((r) => [r.check, r.declared, r.observed])).toEqual([
      ["reachable", null, "yes"],
      ["models listed", null, "yes"],
      ["embeddings", true, "yes"],
    ]);
    // Declared by an operator's override, JSON mode is an error the dev engine's prose shows up.
    const overclaimed = backendConfig({ kind: "dev", capabilities: { jsonMode: true } });
    const wrong = await Effect.runPromise(probeBackend(makeBackend(overclaimed, "text"), overclaimed));
    expect(row(wrong, "JSON mode")).toMatchObject({ declared: true, observed: "no", finding: "error" });
    expect(wrong.ok).toBe(false);
  });
});
