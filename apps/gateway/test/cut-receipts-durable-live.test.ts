import { mkdtempSync, rmSync } from "node:fs";
import { connect, createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createTestDatabase } from "@pocket-ai/runtime/testing";
import { sql } from "drizzle-orm";
import { Effect, ManagedRuntime } from "effect";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { GatewayStore, type StoreLocation } from "../src/db/database.js";
import { onFreePort } from "./support/free-port.js";
import {
  adminClient,
  type LiveSession,
  liveSession,
  startDevNode,
  waitForNodes,
} from "./support/live-network.js";
import { openGateway } from "./support/open-gateway.js";
import {
  dialectMissing,
  postgresServerUrl,
  STORE_DIALECTS,
  type StoreDialect,
} from "./support/temp-database.js";
import { until } from "./support/until.js";

/**
 * A stream whose client left is paid in the gateway's ledger under the leaf of what reached the
 * client; the node, which had sent it whole, holds the whole answer's leaf until the gateway's
 * signed receipt reaches it. Here the receipt cannot reach the node at first: the link drops every
 * `settleCut` call. The receipt must arrive once the node can be reached again — after more failed
 * attempts than a few seconds of retries make, and after the gateway restarted on the same
 * database — and the node's claim must then hold exactly what the gateway recorded.
 */

/**
 * A TCP link in front of the node: it passes the node's bytes on slowly (600 bytes every 50 ms),
 * so the node has sent its whole stream while the gateway still reads the first chunks, and while
 * `blocking` it drops every connection that carries a `settleCut` call (counted in `dropped`).
 */
function receiptGate(upstreamPort: number) {
  const gate = { blocking: true, dropped: 0, server: undefined as Server | undefined, port: 0 };
  const server = createServer((down: Socket) => {
    const up = connect(upstreamPort, "127.0.0.1");
    let queue = Buffer.alloc(0);
    const timer = setInterval(() => {
      const part = queue.subarray(0, 600);
      queue = queue.subarray(600);
      if (part.length > 0 && !down.destroyed) down.write(part);
      else if (up.destroyed && queue.length === 0) down.destroy();
    }, 50);
    down.on("data", (data: Buffer) => {
      if (gate.blocking && data.includes("settleCut")) {
        gate.dropped += 1;
        down.destroy();
        up.destroy();
        return;
      }
      up.write(data);
    });
    up.on("data", (data: Buffer) => {
      queue = Buffer.concat([queue, data]);
    });
    down.on("close", () => {
      clearInterval(timer);
      up.destroy();
    });
    down.on("error", () => up.destroy());
    up.on("error", () => down.destroy());
  });
  gate.server = server;
  return new Promise<typeof gate>((resolve) =>
    server.listen(0, "127.0.0.1", () => {
      gate.port = (server.address() as { port: number }).port;
      resolve(gate);
    }),
  );
}

interface GatewayRow {
  readonly requestHash: string;
  readonly sessionId: string;
  readonly leafHash: string | null;
  readonly computeUnits: number;
}

describe.each(STORE_DIALECTS)(
  "a cut stream's receipt its node cannot take at first, on %s",
  (dialect: StoreDialect) => {
    describe.skipIf(dialectMissing(dialect))(dialect, () => {
      let dir: string;
      let location: StoreLocation;
      let session: LiveSession;
      let gate: Awaited<ReturnType<typeof receiptGate>>;
      let gateway: Awaited<ReturnType<typeof openGateway>>;
      let node: Awaited<ReturnType<typeof startDevNode>>;
      let store: ManagedRuntime.ManagedRuntime<GatewayStore, unknown>;

      beforeEach(async () => {
        dir = mkdtempSync(join(tmpdir(), "pocket-receipts-"));
        location =
          dialect === "sqlite"
            ? { file: join(dir, "gateway", "gateway.sqlite") }
            : { url: await createTestDatabase(postgresServerUrl() as string) };
        session = liveSession();
        gateway = await openGateway(join(dir, "gateway"), location, session);
        node = await onFreePort(async (nodePort) => {
          gate = await receiptGate(nodePort);
          try {
            return await startDevNode(
              { trpcUrl: gateway.gateway.trpcUrl, address: gateway.gateway.key.address },
              session,
              join(dir, "node"),
              {},
              { kind: "dev" },
              {
                listen: { host: "127.0.0.1", port: nodePort },
                publicUrl: `http://127.0.0.1:${gate.port}`,
                // Every chunk signed: what the client read is covered, so the gateway pays it under a leaf.
                streamHeads: { everyChunks: 1 },
              },
            );
          } catch (e) {
            gate.server?.close();
            throw e;
          }
        });
        await waitForNodes(adminClient(gateway.gateway.trpcUrl), [node.node.key.address]);
        store = ManagedRuntime.make(GatewayStore.layer(location));
      }, 90_000);
      afterEach(async () => {
        await store?.dispose();
        await gateway?.stop();
        await node?.stop();
        gate?.server?.close();
        rmSync(dir, { recursive: true, force: true });
      });

      /** The gateway's ledger rows and its receipts still to deliver. */
      const ledger = () =>
        store.runPromise(
          Effect.flatMap(GatewayStore, (db) =>
            Effect.promise(() =>
              db.all<GatewayRow>(sql`
              select request_hash as "requestHash", session_id as "sessionId", leaf_hash as "leafHash",
                compute_units as "computeUnits"
              from relays where error_code = 'CLIENT_CLOSED'`),
            ),
          ),
        );
      const rows = () =>
        store.runPromise(
          Effect.flatMap(GatewayStore, (db) =>
            Effect.promise(() =>
              db.all<{ outcome: string; errorCode: string | null }>(
                sql`select outcome, error_code as "errorCode" from relays`,
              ),
            ),
          ),
        );
      const pendingReceipts = () =>
        store.runPromise(
          Effect.flatMap(GatewayStore, (db) =>
            Effect.promise(() => db.all<{ n: number }>(sql`select count(*) as "n" from cut_receipts`)),
          ),
        );

      /** A client reads the answer's first chunks through `url`'s gateway and leaves. */
      const readThenLeave = async (url: string, secret: string) => {
        const controller = new AbortController();
        const response = await fetch(`${url}/v1/chat/completions`, {
          method: "POST",
          signal: controller.signal,
          headers: { authorization: `Bearer ${secret}`, "content-type": "application/json" },
          body: JSON.stringify({
            model: "llama-2-13b",
            messages: [{ role: "user", content: "Write a long story about the history of France and Spain" }],
            max_tokens: 120,
            // Seeded: the development model then answers at length every time (unseeded, a short
            // answer could end before the client meant to leave).
            seed: 3,
            stream: true,
          }),
        });
        const reader = response.body!.getReader();
        const decoder = new TextDecoder();
        let text = "";
        while (text.split("\n\n").filter((e) => e.startsWith("data: {")).length < 4) {
          const { value, done } = await reader.read();
          if (done) throw new Error("the stream ended before the client meant to leave");
          text += decoder.decode(value, { stream: true });
        }
        controller.abort();
      };

      /** The node's claim leaves for the session and gateway, as [leaf, weight] pairs. */
      const nodeLeaves = (row: GatewayRow) =>
        node.node.relays
          .leaves(row.sessionId, gateway.gateway.key.address)
          .map((l) => [l.leafHash, l.computeUnits] as const);
      const gatewayLeaves = (row: GatewayRow) =>
        row.leafHash === null ? [] : [[row.leafHash, row.computeUnits] as const];

      /** Cuts one stream while its node finished it, and waits for the gateway's first dropped receipt. */
      const cutWithReceiptDropped = async () => {
        const admin = adminClient(gateway.gateway.trpcUrl);
        const app = await admin.admin.applications.create.mutate({ name: "live" });
        const key = await admin.admin.keys.create.mutate({ applicationId: app.id, name: "k" });
        await readThenLeave(gateway.gateway.url, key.secret);
        // Any row of the stream, so that one recorded otherwise (a stall on a busy machine) says so.
        await until(async () => (await rows()).length === 1, "the cut stream's ledger row", 60_000);
        expect(await rows()).toMatchObject([{ outcome: "interrupted", errorCode: "CLIENT_CLOSED" }]);
        const row = (await ledger())[0]!;
        expect(row.leafHash).not.toBeNull();
        await until(() => gate.dropped >= 1, "a receipt the link dropped");
        // The node sent the whole answer: its claim holds the whole answer's leaf, not the gateway's.
        await until(() => node.node.relays.outcomeOf(row.requestHash) === "ok", "the node's answered row");
        expect(nodeLeaves(row)).toHaveLength(1);
        expect(nodeLeaves(row)).not.toEqual(gatewayLeaves(row));
        return row;
      };

      it("reaches the node after more failed attempts than a few seconds of retries make", async () => {
        const row = await cutWithReceiptDropped();
        // Six attempts, 200 ms apart and doubling: the sixth comes some 6 s after the first.
        await until(() => gate.dropped >= 6, "six dropped receipts", 60_000);
        gate.blocking = false;
        await until(
          () => JSON.stringify(nodeLeaves(row)) === JSON.stringify(gatewayLeaves(row)),
          "the node's row to take the gateway's leaf",
          60_000,
        );
        expect(nodeLeaves(row)).toEqual(gatewayLeaves(row));
        await until(async () => (await pendingReceipts())[0]?.n === 0, "the receipt delivered");
      }, 120_000);

      it("reaches the node after the gateway restarted on the same database", async () => {
        const row = await cutWithReceiptDropped();
        await gateway.stop();
        gate.blocking = false;
        gateway = await openGateway(join(dir, "gateway"), location, session);
        await until(
          () => JSON.stringify(nodeLeaves(row)) === JSON.stringify(gatewayLeaves(row)),
          "the node's row to take the gateway's leaf",
        );
        expect(nodeLeaves(row)).toEqual(gatewayLeaves(row));
        await until(async () => (await pendingReceipts())[0]?.n === 0, "the receipt delivered");
        const metrics = await (await fetch(`${gateway.gateway.url}/metrics`)).text();
        expect(metrics).toMatch(/^pocket_gateway_cut_receipts_total\{outcome="settled"\} 1$/m);
      }, 120_000);
    });
  },
);
