import { describe, expect, it } from "vitest";
import { backendConfig } from "../../test/fakes/backend-config.js";
import { BackendMisconfigured, makeBackend } from "./make-backend.js";

describe("makeBackend", () => {
  it("picks the adapter for each kind", () => {
    const url = "http://127.0.0.1:9";
    expect(makeBackend(backendConfig({ kind: "vllm", url }), "text").id).toBe(`vllm@${url}`);
    expect(makeBackend(backendConfig({ kind: "tgi", url }), "text").capabilities.completions).toBe(false);
    expect(makeBackend(backendConfig({ kind: "a1111", url }), "image").kind).toBe("a1111");
    expect(makeBackend(backendConfig({ kind: "dev" }), "image").capabilities.images?.outpaint).toBe(true);
  });

  it("refuses entries that could never serve the service", () => {
    expect(() => makeBackend(backendConfig({ kind: "vllm" }), "text")).toThrow(BackendMisconfigured);
    expect(() => makeBackend(backendConfig({ kind: "a1111", url: "http://x" }), "text")).toThrow(
      /image services only/,
    );
    expect(() => makeBackend(backendConfig({ kind: "ollama", url: "http://x" }), "image")).toThrow(
      /text and embedding services only/,
    );
    expect(() => makeBackend(backendConfig({ kind: "a1111", url: "http://x" }), "embedding")).toThrow(
      /image services only/,
    );
    expect(
      makeBackend(backendConfig({ kind: "ollama", url: "http://x" }), "embedding").embeddings,
    ).toBeDefined();
  });
});
