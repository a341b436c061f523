import { randomBytes } from "node:crypto";
import { createServer } from "node:net";
import { join } from "node:path";
import { createTestDatabase } from "@pocket-ai/runtime/testing";
import OpenAI, { type APIError } from "openai";
import { describe, expect, it } from "vitest";
import { StreamedItemStore } from "../src/openai/responses/streamed-items.js";
import { outcomeCounts, processScope, spawnReplicas } from "./support/gateway-process.js";
import { adminClient, liveSession, startDevNode, waitForNodes } from "./support/live-network.js";
import { postgresServerUrl } from "./support/temp-database.js";

/**
 * Streamed `/v1/responses` message items behind a load balancer: gateway processes on one
 * PostgreSQL database; an answer streamed through one, referred to (`item_reference`) through
 * another. The ciphertext stays in the memory of the replica that streamed it; the others fetch it
 * by hash (the key in the id never travels) and decrypt it themselves.
 */

const { dir, children, stops } = processScope("pocket-replica-items-");

const server = postgresServerUrl();
const asApiError = (e: unknown) => e as APIError;

/** `pocket_gateway_response_item_peer_fetches_total` by outcome, from a replica's `/metrics`. */
const peerFetches = (url: string) => outcomeCounts(url, "pocket_gateway_response_item_peer_fetches_total");

/** A loopback port nothing listens on (bound, then closed). */
async function closedPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const port = (probe.address() as { port: number }).port;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

describe.skipIf(server === null)(
  "streamed response items across gateway replicas on one PostgreSQL database",
  () => {
    it("an item streamed through one replica is referred to through another; forged, foreign, gone and unreachable holders answer with stable codes", async () => {
      const databaseUrl = await createTestDatabase(server!);
      const key = randomBytes(32).toString("hex");
      const session = liveSession();
      // D advertises an address nothing answers at: registered and live, but unreachable. A loaded
      // test machine may be slow: a peer has long to answer.
      const advertise = [undefined, undefined, undefined, `http://127.0.0.1:${await closedPort()}`];
      const replicas = await spawnReplicas(
        { dir, children },
        {
          databaseUrl,
          privateKeyHex: key,
          session,
          configs: advertise.map((advertiseUrl) => ({
            replica: { peerTimeoutMs: 30_000, ...(advertiseUrl === undefined ? {} : { advertiseUrl }) },
            responseItems: { ttlSeconds: 600 },
            drainMs: 1_000,
          })),
        },
      );
      const [a, b, c, d] = replicas as [
        (typeof replicas)[0],
        (typeof replicas)[0],
        (typeof replicas)[0],
        (typeof replicas)[0],
      ];
      const admin = adminClient(`${a.url}/trpc`);
      const address = (await (await fetch(`${a.url}/health`)).json()) as { address: string };
      const node = await startDevNode(
        { trpcUrl: `${a.url}/trpc`, address: address.address },
        session,
        join(dir, "node"),
      );
      stops.push(node.stop);
      for (const r of replicas) await waitForNodes(adminClient(`${r.url}/trpc`), [node.node.key.address]);

      const app = await admin.admin.applications.create.mutate({ name: "items" });
      const secret = (await admin.admin.keys.create.mutate({ applicationId: app.id, name: "k" })).secret;
      const client = (url: string, apiKey = secret) =>
        new OpenAI({ apiKey, baseURL: `${url}/v1`, maxRetries: 0 });
      const replicaId = async (url: string) =>
        ((await (await fetch(`${url}/health`)).json()) as { replica: { id: string } }).replica.id;

      /** Streams one answer through `url`: the item id announced first, and the final text. */
      const streamed = async (url: string) => {
        const stream = await client(url).responses.create({
          model: "llama-2-13b",
          input: "Name a colour.",
          max_output_tokens: 6,
          stream: true,
        });
        let id = "";
        let text = "";
        for await (const event of stream) {
          if (event.type === "response.output_item.added") id = event.item.id ?? "";
          if (event.type === "response.output_text.done") text = event.text;
        }
        return { id, text };
      };
      const second = (
        assistant: { type: "item_reference"; id: string } | { role: "assistant"; content: string },
      ) => [
        { role: "user" as const, content: "Name a colour." },
        assistant,
        { role: "user" as const, content: "Another?" },
      ];
      const refer = (url: string, id: string, apiKey = secret) =>
        client(url, apiKey)
          .responses.create({
            model: "llama-2-13b",
            input: second({ type: "item_reference", id }),
            max_output_tokens: 2,
          })
          .then(
            (r) => ({ ok: r, error: undefined }),
            (e: unknown) => ({ ok: undefined, error: asApiError(e) }),
          );

      // Streamed through A, referred to through B: B fetches the ciphertext from A and opens it.
      // (Streams on PostgreSQL: the ledger row's ttft_ms is a whole number of milliseconds.)
      const first = await streamed(a.url);
      expect(first.id).toMatch(new RegExp(`^msg_pk2${await replicaId(a.url)}-[A-Za-z0-9_-]{64}$`));
      expect(first.text.length).toBeGreaterThan(0);
      const viaB = await refer(b.url, first.id);
      expect(viaB.error).toBeUndefined();
      expect((await peerFetches(b.url)).found).toBe(1);
      // The node saw the same conversation as with the text sent inline (same input tokens).
      const inline = await client(b.url).responses.create({
        model: "llama-2-13b",
        input: second({ role: "assistant", content: first.text }),
        max_output_tokens: 2,
      });
      expect(viaB.ok?.usage?.input_tokens).toBe(inline.usage?.input_tokens);
      expect((await refer(c.url, first.id)).error).toBeUndefined();
      expect((await peerFetches(c.url)).found).toBe(1);

      // The peer route answers peers only (the hop header), and only from its own memory.
      const hash = new StreamedItemStore(
        { ttlMs: 1, maxBytes: 1 << 20 },
        await replicaId(a.url),
        Buffer.from(key, "hex"),
      ).parse(first.id, app.id)!.hash;
      expect((await fetch(`${a.url}/v1/responses/streamed-items/${hash}`)).status).toBe(404);
      const asPeer = await fetch(`${a.url}/v1/responses/streamed-items/${hash}`, {
        headers: { "x-pocket-image-hop": "1" },
      });
      expect(asPeer.status).toBe(200);
      const ciphertext = Buffer.from(await asPeer.arrayBuffer());
      expect(ciphertext.includes(Buffer.from(first.text, "utf8"))).toBe(false);
      expect(
        (
          await fetch(`${b.url}/v1/responses/streamed-items/${hash}`, {
            headers: { "x-pocket-image-hop": "1" },
          })
        ).status,
      ).toBe(404);

      // Another application's key, or a changed id: refused at B without asking A.
      const otherApp = await admin.admin.applications.create.mutate({ name: "other" });
      const otherSecret = (await admin.admin.keys.create.mutate({ applicationId: otherApp.id, name: "k" }))
        .secret;
      const before = await peerFetches(b.url);
      const foreign = await refer(b.url, first.id, otherSecret);
      expect(foreign.error?.code).toBe("INVALID_ITEM_REFERENCE");
      const changed = await refer(b.url, `${first.id.slice(0, -1)}${first.id.endsWith("A") ? "B" : "A"}`);
      expect(changed.error?.code).toBe("INVALID_ITEM_REFERENCE");
      // A well-formed id naming no replica (made with the gateway's key, as only a replica could):
      // the directory alone answers, no request to anyone.
      const nowhere = new StreamedItemStore(
        { ttlMs: 60_000, maxBytes: 1 << 20 },
        randomBytes(8).toString("hex"),
        Buffer.from(key, "hex"),
      ).announce(app.id).id;
      const forged = await refer(b.url, nowhere);
      expect(forged.error?.status).toBe(400);
      expect(forged.error?.code).toBe("RESPONSE_NOT_STORED");
      expect(forged.error?.message).toMatch(/no longer running/);
      expect(await peerFetches(b.url)).toEqual(before);

      // An id naming A for an item A does not hold (never kept, or expired there): A answers 404.
      const unkept = new StreamedItemStore(
        { ttlMs: 60_000, maxBytes: 1 << 20 },
        await replicaId(a.url),
        Buffer.from(key, "hex"),
      ).announce(app.id).id;
      const gone = await refer(b.url, unkept);
      expect(gone.error?.code).toBe("RESPONSE_NOT_STORED");
      expect(gone.error?.message).toMatch(/expired: .* for 10 minutes at most/);
      expect((await peerFetches(b.url)).gone).toBe(1);

      // D is registered and live but unreachable: a retryable 503 that says what to do.
      const fromD = await streamed(d.url);
      const unreachable = await refer(a.url, fromD.id);
      expect(unreachable.error?.status).toBe(503);
      expect(unreachable.error?.code).toBe("RESPONSE_ITEM_UNAVAILABLE");
      expect(unreachable.error?.message).toMatch(/send the item itself/);
      expect((await peerFetches(a.url)).unavailable).toBe(1);

      // Streamed through C, which then stops: its items went with it, and A says so.
      const fromC = await streamed(c.url);
      expect((await refer(a.url, fromC.id)).error).toBeUndefined();
      const exited = new Promise((resolve) => c.child.once("exit", resolve));
      c.child.kill("SIGTERM");
      await exited;
      const stopped = await refer(a.url, fromC.id);
      expect(stopped.error?.code).toBe("RESPONSE_NOT_STORED");
      expect(stopped.error?.message).toMatch(/no longer running/);
      // A's own item is still read through B.
      expect((await refer(b.url, first.id)).error).toBeUndefined();
    }, 300_000);
  },
);
