import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { createTestDatabase } from "@pocket-ai/runtime/testing";
import OpenAI from "openai";
import { describe, expect, it } from "vitest";
import { outcomeCounts, processScope, spawnReplicas } from "./support/gateway-process.js";
import { adminClient, liveSession, startDevNode, waitForNodes } from "./support/live-network.js";
import { postgresServerUrl } from "./support/temp-database.js";

/**
 * Image URLs (`response_format: "url"`) behind a load balancer: three gateway processes on one
 * PostgreSQL database, an image made through one, fetched from the others. The bytes stay in the
 * memory of the replica that made them; the others fetch them from it for each request.
 */

const { dir, children, stops } = processScope("pocket-replica-images-");

const server = postgresServerUrl();

const errorOf = async (response: Response) =>
  ((await response.json()) as { error: { code: string; message: string } }).error;

/** `pocket_gateway_image_peer_fetches_total` by outcome, from a replica's `/metrics`. */
const peerFetches = (url: string) => outcomeCounts(url, "pocket_gateway_image_peer_fetches_total");

describe.skipIf(server === null)("image URLs across gateway replicas on one PostgreSQL database", () => {
  it("an image made through one replica is fetched from every replica, with the same bytes; gone replicas answer 404", async () => {
    const databaseUrl = await createTestDatabase(server!);
    const key = randomBytes(32).toString("hex");
    const session = liveSession();
    // A loaded test machine may be slow: a peer has long to answer.
    const replicas = await spawnReplicas(
      { dir, children },
      {
        databaseUrl,
        privateKeyHex: key,
        session,
        configs: [0, 1, 2].map(() => ({ replica: { peerTimeoutMs: 30_000 }, drainMs: 1_000 })),
      },
    );
    const [a, b, c] = replicas as [(typeof replicas)[0], (typeof replicas)[0], (typeof replicas)[0]];
    const admin = adminClient(`${a.url}/trpc`);
    const address = (await (await fetch(`${a.url}/health`)).json()) as { address: string };
    const node = await startDevNode(
      { trpcUrl: `${a.url}/trpc`, address: address.address },
      session,
      join(dir, "node"),
    );
    stops.push(node.stop);
    for (const r of replicas) await waitForNodes(adminClient(`${r.url}/trpc`), [node.node.key.address]);

    const app = await admin.admin.applications.create.mutate({ name: "images" });
    const secret = (await admin.admin.keys.create.mutate({ applicationId: app.id, name: "k" })).secret;
    const generate = async (url: string) => {
      const openai = new OpenAI({ apiKey: secret, baseURL: `${url}/v1`, maxRetries: 0 });
      const answer = await openai.images.generate({
        model: "stable-diffusion",
        prompt: "a lighthouse at dusk",
        n: 1,
        size: "512x512",
        response_format: "url",
      });
      const made = answer.data?.[0]?.url ?? "";
      expect(made.startsWith(`${url}/v1/images/content/`)).toBe(true);
      return made.slice(url.length);
    };

    // Made through A; the same bytes from A, B and C (B and C ask A for them).
    const path = await generate(a.url);
    const fromA = await fetch(`${a.url}${path}`);
    expect(fromA.status).toBe(200);
    const bytes = Buffer.from(await fromA.arrayBuffer());
    expect(bytes.subarray(1, 4).toString("latin1")).toBe("PNG");
    for (const r of [b, c]) {
      const fetched = await fetch(`${r.url}${path}`);
      expect(fetched.status).toBe(200);
      expect(fetched.headers.get("content-type")).toBe("image/png");
      expect(fetched.headers.get("cache-control")).toMatch(/^private, max-age=\d+$/);
      expect(Buffer.from(await fetched.arrayBuffer()).equals(bytes)).toBe(true);
    }
    expect((await peerFetches(b.url)).image).toBe(1);
    expect((await peerFetches(c.url)).image).toBe(1);

    // A peer's own request (the hop header) is never passed on: no loops between replicas.
    const hop = await fetch(`${b.url}${path}`, { headers: { "x-pocket-image-hop": "1" } });
    expect(hop.status).toBe(404);
    expect((await errorOf(hop)).code).toBe("IMAGE_URL_EXPIRED");
    expect((await peerFetches(b.url)).image).toBe(1);

    // An id A never made (or that expired there), asked at B: A answers 404, and so does B.
    const aId = /content\/([0-9a-f]{16})-/.exec(path)![1]!;
    const unknown = await fetch(`${b.url}/v1/images/content/${aId}-${randomBytes(32).toString("hex")}.png`);
    expect(unknown.status).toBe(404);
    expect((await errorOf(unknown)).code).toBe("IMAGE_URL_EXPIRED");
    expect((await peerFetches(b.url)).gone).toBe(1);

    // A forged id naming no replica: 404 from the directory alone, no request to anyone.
    const before = await peerFetches(b.url);
    const forged = await fetch(
      `${b.url}/v1/images/content/${randomBytes(8).toString("hex")}-${randomBytes(32).toString("hex")}.png`,
    );
    expect(forged.status).toBe(404);
    const forgedError = await errorOf(forged);
    expect(forgedError.code).toBe("IMAGE_URL_EXPIRED");
    expect(forgedError.message).toMatch(/replica named in this URL is not running/);
    expect(await peerFetches(b.url)).toEqual(before);

    // Made through C, which then stops (SIGTERM, as an orchestrator stops it): its images are gone,
    // and A says so (404, not a timeout).
    const cPath = await generate(c.url);
    expect((await fetch(`${a.url}${cPath}`)).status).toBe(200);
    const exited = new Promise((resolve) => c.child.once("exit", resolve));
    c.child.kill("SIGTERM");
    await exited;
    const gone = await fetch(`${a.url}${cPath}`);
    expect(gone.status).toBe(404);
    const goneError = await errorOf(gone);
    expect(goneError.code).toBe("IMAGE_URL_EXPIRED");
    expect(goneError.message).toMatch(/replica named in this URL is not running/);
    // A's own image is still served by B.
    expect(Buffer.from(await (await fetch(`${b.url}${path}`)).arrayBuffer()).equals(bytes)).toBe(true);
  }, 300_000);
});
