import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Logger } from "@pocket-ai/runtime";
import { type NodeHarness, startTestNode } from "./node-harness.js";

/** What a scripted engine answers a generation call (its JSON body) with. */
export type EngineAnswer = (body: Record<string, unknown>, res: ServerResponse) => void;

/**
 * A node serving `llama-2-13b` through a vLLM backend in front of an engine that answers `/v1/models`
 * and every other call as `answer` says (a test's lie, a stream that never ends); `backend` adds
 * to the backend's settings; `log` takes the node's log lines. `close` stops both.
 */
export async function nodeBehindEngine(
  answer: EngineAnswer,
  backend: Record<string, unknown> = {},
  log?: Logger,
): Promise<{ readonly harness: NodeHarness; readonly close: () => Promise<void> }> {
  const engine: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const parts: Buffer[] = [];
    req.on("data", (p: Buffer) => parts.push(p));
    req.on("end", () => {
      const text = Buffer.concat(parts).toString("utf8");
      if (req.url === "/v1/models") {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify({ data: [{ id: "m" }] }));
        return;
      }
      answer(text === "" ? {} : (JSON.parse(text) as Record<string, unknown>), res);
    });
  });
  await new Promise<void>((r) => engine.listen(0, "127.0.0.1", r));
  const url = `http://127.0.0.1:${(engine.address() as AddressInfo).port}`;
  const harness = await startTestNode(
    {
      services: [
        {
          serviceId: "llama-2-13b",
          tiers: ["standard"],
          model: { declared: "llama-2-13b-chat", family: "llama-2" },
          backends: [{ kind: "vllm", url, model: "m", probeAtStart: false, ...backend }],
        },
      ],
    },
    undefined,
    log === undefined ? {} : { log },
  );
  return {
    harness,
    close: async () => {
      await harness.stop();
      engine.closeAllConnections();
      await new Promise<void>((r) => engine.close(() => r()));
    },
  };
}
