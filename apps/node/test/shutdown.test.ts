import { join } from "node:path";
import { relayRequestHash } from "@pocket-ai/protocol";
import { createLogger } from "@pocket-ai/runtime";
import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import { latch, until } from "./fakes/fake-server.js";
import { startFakeVllm } from "./fakes/fake-vllm.js";
import { startTestNode, TestGateway } from "./helpers/node-harness.js";

/** The relay's row as the node left it on disk, read after the node has stopped. */
function rowOf(dataDir: string, requestHash: string) {
  const db = new Database(join(dataDir, "node.sqlite"), { readonly: true });
  try {
    return db.prepare("SELECT outcome, error_code FROM relays WHERE request_hash = ?").get(requestHash);
  } finally {
    db.close();
  }
}

describe("shutdown", () => {
  it.each([
    ["unary", false],
    ["streamed", true],
  ])("records a %s relay whose gateway went away as failed before the database closes", async (_, stream) => {
    // The engine holds every generation: the relay is at the engine when its caller leaves.
    const engine = await startFakeVllm();
    const gate = latch();
    engine.faults.gate = gate.promise;
    const lines: string[] = [];
    const log = createLogger({ app: "node-test", level: "warn", write: (line) => lines.push(line) });
    const h = await startTestNode(
      {
        services: [
          {
            serviceId: "llama-2-13b",
            tiers: ["standard"],
            backends: [{ kind: "vllm", url: engine.url, model: "served-model", probeAtStart: false }],
          },
        ],
      },
      undefined,
      { log },
    );
    try {
      const gw = new TestGateway();
      const request = gw.request({ model: "llama-2-13b", prompt: "Once upon a time", max_tokens: 5 });
      const controller = new AbortController();
      const call = stream
        ? (async () => {
            const chunks = await h.client.relayStream.mutate(request, { signal: controller.signal });
            for await (const _chunk of chunks) break;
          })()
        : h.client.relay.mutate(request, { signal: controller.signal });
      await until(() => engine.calls["POST /v1/completions"] === 1, "the relay at the engine");
      expect(h.node.relays.outcomeOf(relayRequestHash(request))).toBe("pending");
      controller.abort();
      await expect(call).rejects.toThrow();
      // Stopped at once: the node's side of the call may still be unwinding.
      await h.stop();
      const expected = stream ? "STREAM_INTERRUPTED" : "INTERNAL";
      expect(rowOf(h.dataDir, relayRequestHash(request))).toEqual({ outcome: "error", error_code: expected });
      expect(lines.filter((line) => line.includes('"level":"error"'))).toEqual([]);
    } finally {
      gate.open();
      await engine.close();
    }
  });
});
