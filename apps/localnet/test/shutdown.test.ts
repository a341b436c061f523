import { describe, expect, it } from "vitest";
import { startTestNetwork } from "./e2e-helpers.js";

/**
 * Ctrl-C while answers stream: the gateway drains first, so a stream still running ends with the
 * gateway's own code (GATEWAY_SHUTTING_DOWN: retry later), and its node is paid for what reached
 * the client; its nodes stop after it. Nodes stopping first broke their streams under a gateway
 * that was still serving: the client read the node's failure (STREAM_INTERRUPTED), was charged for
 * what it had read, and the node was paid nothing for it.
 */
describe("stopping the local network while answers stream", () => {
  it("ends running streams with the gateway's own code, not as their nodes' failure", async () => {
    const t = await startTestNetwork({ hedging: false });
    const prompt = Array.from({ length: 50 }, (_, k) => `Write a long story about the sea, number ${k}`);
    const ask = async () => {
      const response = await fetch(`${t.net.baseUrl}/completions`, {
        method: "POST",
        headers: { authorization: `Bearer ${t.net.apiKey}`, "content-type": "application/json" },
        body: JSON.stringify({ model: "llama-2-13b:batch", prompt, max_tokens: 20, stream: true }),
      });
      const reader = response.body!.getReader();
      const decoder = new TextDecoder();
      let text = "";
      let first!: () => void;
      const started = new Promise<void>((resolve) => (first = resolve));
      const read = (async () => {
        for (;;) {
          const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true }));
          if (done) return text;
          text += decoder.decode(value, { stream: true });
          if (text.includes('"text"')) first();
        }
      })();
      return { started, read };
    };
    // Several streams: the slower nodes take seconds for a batch of 50 prompts.
    const streams = await Promise.all(Array.from({ length: 6 }, ask));
    await Promise.all(streams.map((s) => s.started));
    await t.stop();
    const texts = await Promise.all(streams.map((s) => s.read));
    const cut = texts.filter(
      (text) => !text.includes('"finish_reason":"length"}],"usage"') && /"code":"/.test(text),
    );
    expect(cut.length).toBeGreaterThan(0);
    for (const text of cut) {
      expect(text).toContain('"code":"GATEWAY_SHUTTING_DOWN"');
      expect(text).not.toContain("STREAM_INTERRUPTED");
    }
  }, 120_000);
});
