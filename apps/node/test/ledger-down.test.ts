import { join } from "node:path";
import { relayRequestHash } from "@pocket-ai/protocol";
import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import { startTestNode, TestGateway } from "./helpers/node-harness.js";

/**
 * Sets (or lifts) a trigger that refuses every new ledger row, as a full disk or a broken file
 * does; `answered`: only answered rows (the file breaks while a stream runs, after its open row).
 */
function breakLedger(dataDir: string, broken: boolean | "answered"): void {
  const side = new Database(join(dataDir, "node.sqlite"));
  const when = broken === "answered" ? "WHEN NEW.outcome = 'ok'" : "";
  side.exec(
    broken !== false
      ? `CREATE TRIGGER broken BEFORE INSERT ON relays ${when} BEGIN SELECT RAISE(ABORT, 'disk I/O error'); END;`
      : "DROP TRIGGER broken;",
  );
  side.close();
}

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
      // The answer that left without its row counts apart; the two withheld, as the gateway saw them.
      expect(metrics).toMatch(/pocket_node_relays_total\{[^}]*outcome="unrecorded"[^}]*\} 1\b/);
      expect(metrics).toMatch(/pocket_node_relays_total\{[^}]*outcome="INTERNAL"[^}]*\} 2\b/);

      // The file writes again: the next answer is recorded, and the fast path comes back.
      breakLedger(h.dataDir, false);
      const healed = [3, 4].map((i) =>
        gw.request({ model: "llama-2-13b", prompt: `Relay ${i}`, max_tokens: 3 }),
      );
      for (const request of healed) expect((await h.client.relay.mutate(request)).outcome).toBe("ok");
      for (const request of healed) expect(h.node.relays.outcomeOf(relayRequestHash(request))).toBe("ok");
    } finally {
      await h.stop();
    }
  });

  it("withholds a stream's signed end when its row fails, and refuses streams before any work until a commit succeeds", async () => {
    const h = await startTestNode();
    try {
      breakLedger(h.dataDir, "answered");
      const gw = new TestGateway();
      const stream = async (i: number) => {
        const request = gw.request({
          model: "llama-2-13b",
          prompt: `Stream ${i}`,
          max_tokens: 3,
          stream: true,
        });
        const chunks: { data?: unknown; final?: { outcome: string; error?: { code: string } } }[] = [];
        for await (const chunk of await h.client.relayStream.mutate(request)) chunks.push(chunk);
        return { chunks, last: chunks.at(-1)?.final, hash: relayRequestHash(request) };
      };
      // The first stream runs (no commit failed yet): its text goes out, its answered row fails,
      // and the node withholds the signed ok end it could not record: recorded cut instead, for
      // the gateway's cut receipt to pay what its client received.
      const first = await stream(0);
      expect(first.chunks.some((c) => c.data !== null && c.data !== undefined)).toBe(true);
      expect(first.chunks.some((c) => c.final?.outcome === "ok")).toBe(false);
      expect(h.node.relays.outcomeOf(first.hash)).toBe("error");
      // Now refused before any work, signed, while rows cannot be written.
      breakLedger(h.dataDir, false);
      breakLedger(h.dataDir, true);
      const second = await stream(1);
      expect(second.chunks).toHaveLength(1);
      expect(second.last).toMatchObject({ outcome: "error", error: { code: "INTERNAL" } });
      const metrics = await (await fetch(`${h.node.url}/metrics`)).text();
      expect(metrics).toMatch(/pocket_node_ledger_write_failures_total [2-9]\b/);
      expect(metrics).not.toMatch(/pocket_node_relays_total\{[^}]*outcome="ok"[^}]*\} [1-9]/);
      expect(metrics).toMatch(/pocket_node_relays_total\{[^}]*outcome="unrecorded"[^}]*\} 1\b/);

      // The file writes again: the refusal's own row commits, and the next stream is served whole.
      breakLedger(h.dataDir, false);
      expect((await stream(2)).last).toMatchObject({ outcome: "error", error: { code: "INTERNAL" } });
      const served = await stream(3);
      expect(served.last).toMatchObject({ outcome: "ok" });
      expect(h.node.relays.outcomeOf(served.hash)).toBe("ok");

      // A stream whose open row cannot be written is refused before any text leaves.
      breakLedger(h.dataDir, true);
      const unrecorded = await stream(4);
      expect(unrecorded.chunks).toHaveLength(1);
      expect(unrecorded.last).toMatchObject({ outcome: "error", error: { code: "INTERNAL" } });
    } finally {
      await h.stop();
    }
  });
});
