import { join } from "node:path";
import { relayRequestHash } from "@pocket-ai/protocol";
import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import { startTestNode, TestGateway } from "./helpers/node-harness.js";

describe("a node whose ledger cannot write", () => {
  it("fails its unary relays once a commit failed, and says so in /metrics", async () => {
    const h = await startTestNode();
    try {
      // Every new row refused, as a full disk or a broken file refuses it.
      const side = new Database(join(h.dataDir, "node.sqlite"));
      side.exec(
        "CREATE TRIGGER broken BEFORE INSERT ON relays BEGIN SELECT RAISE(ABORT, 'disk I/O error'); END;",
      );
      side.close();
      const gw = new TestGateway();
      const outcomes: string[] = [];
      const requests = [0, 1, 2].map((i) =>
        gw.request({ model: "llama-2-13b", prompt: `Relay ${i}`, max_tokens: 3 }),
      );
      for (const request of requests) {
        outcomes.push(
          await h.client.relay.mutate(request).then(
            (answer) => answer.outcome,
            (e: Error) => `refused: ${e.message}`,
          ),
        );
      }
      // The first answer left before its row failed (and is never claimed); after that failed
      // commit each answer waits for its own row, and fails with it.
      expect(outcomes[0]).toBe("ok");
      expect(outcomes.slice(1)).toEqual([
        expect.stringMatching(/^refused: .*error id/),
        expect.stringMatching(/^refused: .*error id/),
      ]);
      for (const request of requests)
        expect(h.node.relays.outcomeOf(relayRequestHash(request))).toBe("pending");
      const metrics = await (await fetch(`${h.node.url}/metrics`)).text();
      expect(metrics).toMatch(/pocket_node_ledger_write_failures_total 3\b/);
      expect(metrics).not.toMatch(/pocket_node_relays_total\{[^}]*outcome="ok"[^}]*\} [1-9]/);

      // The file writes again: the next answer is recorded, and the fast path comes back.
      const mend = new Database(join(h.dataDir, "node.sqlite"));
      mend.exec("DROP TRIGGER broken;");
      mend.close();
      const healed = [3, 4].map((i) =>
        gw.request({ model: "llama-2-13b", prompt: `Relay ${i}`, max_tokens: 3 }),
      );
      for (const request of healed) expect((await h.client.relay.mutate(request)).outcome).toBe("ok");
      for (const request of healed) expect(h.node.relays.outcomeOf(relayRequestHash(request))).toBe("ok");
    } finally {
      await h.stop();
    }
  });
});
