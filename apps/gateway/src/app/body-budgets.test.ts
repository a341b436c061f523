import { connect } from "node:net";
import { createTRPCClient, httpLink } from "@trpc/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  startTestGateway,
  TEST_ADMIN_TOKEN,
  type TestGateway,
} from "../../test/support/gateway-test-harness.js";
import type { GatewayAppRouter } from "./routers.js";

// Behind one trusted proxy on loopback, `X-Forwarded-For` names the caller: 203.0.113.5 is the
// stranger, 198.51.100.7 everyone else. `/v1` holds 8 MiB of bodies, 1 MiB for one network;
// `/trpc` its 64 MiB, 8 MiB for one network.
const MiB = 1024 * 1024;
const STRANGER = "203.0.113.5";
const OTHER = "198.51.100.7";
let t: TestGateway;
let secret = "";
beforeAll(async () => {
  t = await startTestGateway({
    portal: { trustProxy: 1, proxyAddresses: ["127.0.0.1"] },
    maxBodyBytes: { json: MiB },
    bodyBudgets: { v1Bytes: 8 * MiB, v1ShareBytes: MiB },
  });
  secret = (await t.newKey()).secret;
}, 30_000);
afterAll(() => t?.close());

/**
 * A connection through the proxy for `from` that POSTs to `path` declaring `declared` bytes,
 * sends `sent` of them and stalls; `answer` is the gateway's answer once it is whole (its head and
 * `content-length` bytes of body) or the connection closes.
 */
function stalledFrom(from: string, path: string, declared: number, sent: number, headers: string = "") {
  const socket = connect(Number(new URL(t.gateway.url).port), "127.0.0.1");
  let text = "";
  const answer = new Promise<string>((resolve) => {
    socket.on("data", (d) => {
      text += d.toString("latin1");
      const head = text.indexOf("\r\n\r\n");
      const length = /content-length: (\d+)/i.exec(text.slice(0, head))?.[1];
      if (head >= 0 && length !== undefined && text.length - head - 4 >= Number(length)) resolve(text);
    });
    socket.on("close", () => resolve(text));
    socket.on("error", () => undefined);
  });
  const type = /content-type:/i.test(headers) ? "" : "content-type: application/json\r\n";
  socket.write(
    `POST ${path} HTTP/1.1\r\nhost: x\r\n${type}x-forwarded-for: ${from}\r\n${headers}content-length: ${declared}\r\n\r\n`,
  );
  socket.write(Buffer.alloc(sent, 0x20));
  return { socket, answer };
}

/** Resolves once `check` holds (the test's own timeout bounds the wait: state decides, not a clock). */
const until = async (check: () => boolean | Promise<boolean>) => {
  while (!(await check())) await new Promise((r) => setTimeout(r, 20));
};

const refusals = async (budget: string, reason = "share") => {
  const text = await (await fetch(`${t.gateway.url}/metrics`)).text();
  const line = text
    .split("\n")
    .find((l) => l.startsWith(`pocket_gateway_bodies_refused_total{budget="${budget}",reason="${reason}"}`));
  return Number(line?.split(" ").at(-1) ?? 0);
};

describe("one network's share of the body budgets", () => {
  it("refuses a stranger's slow /v1 uploads past its share 503 REQUESTS_BUSY while another network's request is served", async () => {
    const stranger = Array.from({ length: 4 }, () =>
      stalledFrom(
        STRANGER,
        "/v1/chat/completions",
        900 * 1024,
        400 * 1024,
        `authorization: Bearer ${secret}\r\n`,
      ),
    );
    const refused: string[] = [];
    for (const s of stranger) void s.answer.then((text) => refused.push(text));
    await until(async () => refused.length >= 2 && (await refusals("v1")) === refused.length);
    for (const text of refused) {
      expect(text).toMatch(/^HTTP\/1.1 503/);
      expect(text.toLowerCase()).toContain("retry-after: 1");
      expect(text).toContain('"code":"REQUESTS_BUSY"');
      expect(text).toContain("from your network");
    }
    const served = await fetch(`${t.gateway.url}/v1/chat/completions`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        authorization: `Bearer ${secret}`,
        "x-forwarded-for": OTHER,
      },
      body: JSON.stringify({
        model: "llama-2-13b",
        messages: [{ role: "user", content: "hi" }],
        max_tokens: 4,
      }),
    });
    expect(served.status).toBe(200);
    for (const s of stranger) s.socket.destroy();
  }, 30_000);

  it("refuses a stranger's slow /trpc uploads past its share while another network's call is served", async () => {
    const stranger = Array.from({ length: 4 }, () =>
      stalledFrom(STRANGER, "/trpc/nodes.announce", 4 * MiB, 3 * MiB),
    );
    const refused: string[] = [];
    for (const s of stranger) void s.answer.then((text) => refused.push(text));
    await until(async () => refused.length >= 2 && (await refusals("trpc")) === refused.length);
    for (const text of refused) {
      expect(text).toMatch(/^HTTP\/1.1 503/);
      expect(text).toContain('"pocketCode":"REQUESTS_BUSY"');
    }
    const admin = createTRPCClient<GatewayAppRouter>({
      links: [
        httpLink({
          url: t.gateway.trpcUrl,
          headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}`, "x-forwarded-for": OTHER },
        }),
      ],
    });
    expect((await admin.admin.applications.create.mutate({ name: "Other" })).id).toBeDefined();
    for (const s of stranger) s.socket.destroy();
  }, 30_000);

  it("bounds the IPv6 /64s of one /48 together (twice a share) while a caller in another /48 is served", async () => {
    const auth = `authorization: Bearer ${secret}\r\n`;
    // Three /64s of one /56, each far below its own share: two fit the /48's 2 MiB, one does not.
    const uploads = [0, 1, 2].map((i) =>
      stalledFrom(`2001:db8:aa:${i}00::1`, "/v1/chat/completions", 900 * 1024, 800 * 1024, auth),
    );
    const refused = await Promise.race(uploads.map((u) => u.answer));
    expect(refused).toMatch(/^HTTP\/1.1 503/);
    expect(refused.toLowerCase()).toContain("retry-after: 1");
    expect(refused).toContain("IPv6 /48");
    expect(await refusals("v1", "share48")).toBe(1);
    const served = await fetch(`${t.gateway.url}/v1/chat/completions`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        authorization: `Bearer ${secret}`,
        "x-forwarded-for": "2001:db8:ab::1",
      },
      body: JSON.stringify({
        model: "llama-2-13b",
        messages: [{ role: "user", content: "hi" }],
        max_tokens: 4,
      }),
    });
    expect(served.status).toBe(200);
    for (const u of uploads) u.socket.destroy();
  }, 30_000);

  it("answers a /v1 body larger than one network's share 413 REQUEST_TOO_LARGE at once, not 503 to retry", async () => {
    // An image edit may be 24 MiB (maxBodyBytes.multipart), but one network holds at most 1 MiB.
    const edit = stalledFrom(
      OTHER,
      "/v1/images/edits",
      2 * MiB,
      0,
      `authorization: Bearer ${secret}\r\ncontent-type: multipart/form-data; boundary=b\r\n`,
    );
    const answer = await edit.answer;
    expect(answer).toMatch(/^HTTP\/1.1 413/);
    expect(answer.toLowerCase()).not.toContain("retry-after");
    expect(answer).toContain('"code":"REQUEST_TOO_LARGE"');
    expect(answer).toContain(`larger than ${MiB} bytes`);
    expect(await refusals("v1", "neverFits")).toBe(1);
    edit.socket.destroy();
  }, 30_000);
});
