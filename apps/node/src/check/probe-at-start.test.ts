import { Effect } from "effect";
import { afterEach, describe, expect, it } from "vitest";
import { backendConfig } from "../../test/fakes/backend-config.js";
import { ENGINE_JSON_FEATURES, startFakeVllm } from "../../test/fakes/fake-vllm.js";
import { makeBackend } from "../backends/make-backend.js";
import type { BackendConfig } from "../config/node-config.js";
import { probeAtStart } from "./probe-at-start.js";

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(closers.splice(0).map((close) => close()));
});

const probe = (config: BackendConfig) =>
  Effect.runPromise(probeAtStart(makeBackend(config, "text"), config, "text"));

describe("probeAtStart", () => {
  it("turns off each declared capability the engine refuses or ignores, and only those", async () => {
    // Declared as vLLM with tool calling by the operator, but the engine ignores `n`, JSON output
    // and tools: announcing them would route requests it answers silently wrong.
    const fake = await startFakeVllm({ flavor: "vllm", features: { n: false } });
    closers.push(fake.close);
    const config = backendConfig({
      kind: "vllm",
      url: fake.url,
      timeoutMs: 5_000,
      capabilities: { tools: true, forcedToolChoice: true },
    });
    const outcome = await probe(config);
    expect([...outcome.turnedOff].sort()).toEqual([
      "forcedToolChoice",
      "jsonMode",
      "jsonSchema",
      "n",
      "tools",
    ]);
    expect(outcome.backend.capabilities).toMatchObject({
      completions: true,
      chat: true,
      promptLogprobs: true,
      logprobs: true,
      tokenPrompts: true,
      n: false,
      tools: false,
      forcedToolChoice: false,
      jsonMode: false,
      jsonSchema: false,
    });
  });

  it("turns off a declared single tool call when the engine makes several calls anyway", async () => {
    const fake = await startFakeVllm({
      flavor: "vllm",
      features: { ...ENGINE_JSON_FEATURES.vllm, tools: true, parallelToolCalls: true, singleToolCall: false },
    });
    closers.push(fake.close);
    const config = backendConfig({
      kind: "vllm",
      url: fake.url,
      timeoutMs: 5_000,
      capabilities: { tools: true, forcedToolChoice: true, singleToolCall: true },
    });
    const outcome = await probe(config);
    expect(outcome.turnedOff).toEqual(["singleToolCall"]);
    expect(outcome.backend.capabilities).toMatchObject({ tools: true, singleToolCall: false });
  });

  it("keeps an honest declaration whole, and never adds what was not declared", async () => {
    // Ollama: tools yes, a forced choice ignored (declared no), JSON mode yes, no token-id prompts.
    const fake = await startFakeVllm({
      flavor: "ollama",
      features: { ...ENGINE_JSON_FEATURES.ollama, n: true },
    });
    closers.push(fake.close);
    const config = backendConfig({ kind: "ollama", url: fake.url, timeoutMs: 5_000 });
    const declared = makeBackend(config, "text").capabilities;
    const outcome = await probe(config);
    expect(outcome.turnedOff).toEqual([]);
    // The engine does `n`, but the node does not declare it: it stays off.
    expect(outcome.backend.capabilities).toEqual(declared);
  });

  it("keeps the declaration of an engine it cannot reach, and probes nothing when turned off", async () => {
    const unreachable = backendConfig({ kind: "vllm", url: "http://127.0.0.1:9", timeoutMs: 2_000 });
    const outcome = await probe(unreachable);
    expect(outcome.kept).toBe("engine not reachable");
    expect(outcome.backend.capabilities).toEqual(makeBackend(unreachable, "text").capabilities);
    const fake = await startFakeVllm({ flavor: "vllm" });
    closers.push(fake.close);
    const off = await probe(backendConfig({ kind: "vllm", url: fake.url, probeAtStart: false }));
    expect(off.turnedOff).toEqual([]);
    expect(fake.requests).toEqual([]);
  });
});
