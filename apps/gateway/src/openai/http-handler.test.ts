import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { getFrom, nonLoopbackAddress } from "@pocket-ai/vitest-config/from-address";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  startTestGateway,
  TEST_ADMIN_TOKEN,
  type TestGateway,
} from "../../test/support/gateway-test-harness.js";

let t: TestGateway;
beforeAll(async () => {
  t = await startTestGateway({ cors: { origins: ["https://app.example"] }, maxBodyBytes: { json: 2048 } });
}, 30_000);
afterAll(() => t?.close());

const post = (path: string, body: string, headers: Record<string, string> = {}) =>
  fetch(`${t.gateway.url}${path}`, {
    method: "POST",
    body,
    headers: { "content-type": "application/json", ...headers },
  });

/** A streamed chat request of `maxTokens` with the key `secret`. */
const postStreamedChat = (secret: string, maxTokens: number) =>
  post(
    "/v1/chat/completions",
    JSON.stringify({
      model: "llama-2-13b",
      messages: [{ role: "user", content: "go" }],
      max_tokens: maxTokens,
      stream: true,
    }),
    { authorization: `Bearer ${secret}` },
  );

describe("the HTTP front door", () => {
  it("answers CORS preflights for configured origins only", async () => {
    const preflight = (origin: string) =>
      fetch(`${t.gateway.url}/v1/chat/completions`, {
        method: "OPTIONS",
        headers: {
          origin,
          "access-control-request-method": "POST",
          "access-control-request-headers": "authorization, content-type",
        },
      });
    const allowed = await preflight("https://app.example");
    expect(allowed.status).toBe(204);
    expect(allowed.headers.get("access-control-allow-origin")).toBe("https://app.example");
    expect(allowed.headers.get("access-control-allow-headers")).toBe("authorization, content-type");
    const other = await preflight("https://evil.example");
    expect(other.headers.get("access-control-allow-origin")).toBeNull();
  });

  it("serves /health and /metrics", async () => {
    const health = (await (await fetch(`${t.gateway.url}/health`)).json()) as Record<string, unknown>;
    expect(health).toMatchObject({ ok: true, address: t.gateway.key.address });
    const metrics = await (await fetch(`${t.gateway.url}/metrics`)).text();
    expect(metrics).toContain("pocket_gateway_requests_total");
  });

  it("refuses unknown routes, wrong methods, bad JSON and oversized bodies in OpenAI's shape", async () => {
    const { secret } = await t.newKey();
    const auth = { authorization: `Bearer ${secret}` };
    type Refusal = { error: { type: string; code: string; message: string } };
    const notFound = await fetch(`${t.gateway.url}/v1/audio/speech`, { method: "POST" });
    expect(notFound.status).toBe(404);
    const missing = (await notFound.json()) as Refusal;
    expect(missing.error).toMatchObject({ type: "invalid_request_error", code: "ROUTE_NOT_FOUND" });
    expect(missing.error.message).toContain("/v1/chat/completions");
    // A wrong method is a 405 that names the right ones, for relay routes and read-only routes alike.
    for (const [path, method, allow] of [
      ["/v1/chat/completions", "GET", ["POST"]],
      ["/v1/responses", "PUT", ["POST"]],
      ["/v1/models", "DELETE", ["GET", "HEAD"]],
      ["/v1/models/llama-2-13b", "POST", ["GET", "HEAD"]],
      ["/v1/pocket/organic-samples", "HEAD", ["GET"]],
    ] as const) {
      const wrong = await fetch(`${t.gateway.url}${path}`, { method, headers: auth });
      expect(wrong.status, `${method} ${path}`).toBe(405);
      expect(wrong.headers.get("allow")).toBe(allow.join(", "));
      if (method === "HEAD") continue;
      const refusal = (await wrong.json()) as Refusal;
      expect(refusal.error.code).toBe("METHOD_NOT_ALLOWED");
      expect(refusal.error.message).toContain(`takes ${allow.join(" or ")}, not ${method}`);
    }
    const badJson = await post("/v1/chat/completions", "{", auth);
    expect(badJson.status).toBe(400);
    expect(((await badJson.json()) as { error: { code: string } }).error.code).toBe("INVALID_REQUEST");
    const big = await post(
      "/v1/completions",
      JSON.stringify({ model: "llama-2-13b", prompt: "x".repeat(5000) }),
      auth,
    );
    expect(big.status).toBe(413);
    const tooBig = ((await big.json()) as Refusal).error;
    expect(tooBig.code).toBe("REQUEST_TOO_LARGE");
    expect(tooBig.message).toContain("larger than 2048 bytes");
    // A compressed body is refused for what it is (415), not as JSON it failed to be.
    const body = JSON.stringify({ model: "llama-2-13b", messages: [{ role: "user", content: "hi" }] });
    const gzipped = await fetch(`${t.gateway.url}/v1/chat/completions`, {
      method: "POST",
      body: gzipSync(body),
      headers: {
        "content-type": "application/json",
        "content-encoding": "gzip",
        origin: "https://app.example",
        ...auth,
      },
    });
    expect(gzipped.status).toBe(415);
    expect(gzipped.headers.get("accept-encoding")).toBe("identity");
    // A page on an allowed origin may read that hint too.
    expect(gzipped.headers.get("access-control-expose-headers")).toContain("accept-encoding");
    const encoded = ((await gzipped.json()) as Refusal).error;
    expect(encoded.code).toBe("INVALID_REQUEST");
    expect(encoded.message).toContain("content-encoding: gzip");
    expect(encoded.message).toContain("uncompressed");
    const identity = await post("/v1/chat/completions", "{", { ...auth, "content-encoding": "identity" });
    expect(identity.status).toBe(400);
  });

  it("takes a JSON body only as application/json or with no content type, never as a form or text", async () => {
    const { secret } = await t.newKey();
    const auth = { authorization: `Bearer ${secret}` };
    // Valid JSON, so only the declared type can refuse it; "{" would be refused as bad JSON anyway.
    const body = JSON.stringify({
      model: "llama-2-13b",
      messages: [{ role: "user", content: "hi" }],
      max_tokens: 4,
    });
    // The types a page on any site may send without a CORS preflight, and others that are not JSON.
    for (const type of [
      "text/plain",
      "text/plain;charset=UTF-8",
      "application/x-www-form-urlencoded",
      "multipart/form-data; boundary=x",
      "application/xml",
    ]) {
      const refused = await post("/v1/chat/completions", body, { ...auth, "content-type": type });
      expect(refused.status, type).toBe(415);
      const error = ((await refused.json()) as { error: { code: string; message: string } }).error;
      expect(error.code).toBe("INVALID_REQUEST");
      expect(error.message).toContain("Content-Type: application/json");
    }
    // The key is checked first: without one the answer is 401 whatever the type.
    expect((await post("/v1/chat/completions", body, { "content-type": "text/plain" })).status).toBe(401);
    const json = await post("/v1/chat/completions", body, auth);
    expect(json.status).not.toBe(415);
    const typed = await post("/v1/chat/completions", body, {
      ...auth,
      "content-type": "Application/JSON; charset=utf-8",
    });
    expect(typed.status).toBe(json.status);
    // Some clients send no content type at all: a Uint8Array body makes fetch send none.
    const untyped = await fetch(`${t.gateway.url}/v1/chat/completions`, {
      method: "POST",
      body: new TextEncoder().encode(body),
      headers: auth,
    });
    expect(untyped.status).toBe(json.status);
    await Promise.all([json.text(), typed.text(), untyped.text()]);
  });

  it("answers HEAD on the read-only routes as GET, with the same status and headers and no body", async () => {
    const { secret } = await t.newKey();
    const auth = { authorization: `Bearer ${secret}`, origin: "https://app.example" };
    // What differs between any two answers: the time, the request's id, and how the connection goes
    // on (fetch asks to close it after a HEAD).
    const own = new Set(["date", "x-request-id", "connection", "keep-alive"]);
    const headersOf = (res: Response) =>
      Object.fromEntries([...res.headers].filter(([name]) => !own.has(name)));
    for (const [path, status] of [
      ["/v1/models", 200],
      ["/v1/models/llama-2-13b", 200],
      ["/v1/models/no-such-model", 404],
      ["/v1/images/content/no-such-image.png", 404],
      ["/v1/pocket/traffic-mix", 403],
    ] as const) {
      const get = await fetch(`${t.gateway.url}${path}`, { headers: auth });
      const body = await get.arrayBuffer();
      const head = await fetch(`${t.gateway.url}${path}`, { method: "HEAD", headers: auth });
      expect(get.status, path).toBe(status);
      expect(head.status, path).toBe(status);
      expect(headersOf(head), path).toEqual(headersOf(get));
      expect(head.headers.get("content-length"), path).toBe(String(body.byteLength));
      expect((await head.arrayBuffer()).byteLength, path).toBe(0);
    }
  });

  it("takes names of an object's own properties as any other name: a refusal, never a 500", async () => {
    const { secret } = await t.newKey();
    const auth = { authorization: `Bearer ${secret}` };
    const codeOf = async (path: string, body: unknown) => {
      const res = await post(path, JSON.stringify(body), auth);
      const { error } = (await res.json()) as { error: { code: string; message: string } };
      return { status: res.status, ...error };
    };
    for (const name of ["toString", "__proto__", "constructor", "valueOf", "hasOwnProperty"]) {
      const role = await codeOf("/v1/chat/completions", {
        model: "llama-2-13b",
        messages: [{ role: name, content: "hi" }],
      });
      expect(role, `role ${name}`).toMatchObject({ status: 400, code: "INVALID_REQUEST" });
      const item = await codeOf("/v1/responses", { model: "llama-2-13b", input: [{ type: name }] });
      expect(item.status, `item type ${name}`).toBe(400);
      const inputRole = await codeOf("/v1/responses", {
        model: "llama-2-13b",
        input: [{ type: "message", role: name, content: "hi" }],
      });
      expect(inputRole, `input role ${name}`).toMatchObject({ status: 400, code: "INVALID_REQUEST" });
    }
    // A field named like one is unknown, not an engine option.
    const field = await codeOf(
      "/v1/chat/completions",
      JSON.parse('{"model":"llama-2-13b","messages":[{"role":"user","content":"hi"}],"constructor":1}'),
    );
    expect(field).toMatchObject({ status: 400, code: "UNKNOWN_PARAMETER" });
    expect(field.message).toContain("is not a field of this API");
    // On /v1/responses, the refusal's field is renamed to that API's names: such a name is its own.
    for (const name of ["constructor", "toString", "hasOwnProperty", "__proto__"]) {
      const res = await post(
        "/v1/responses",
        `{"model":"llama-2-13b","input":"hi",${JSON.stringify(name)}:1}`,
        auth,
      );
      const { error } = (await res.json()) as { error: { code: string; param: string | null } };
      expect(res.status, name).toBe(400);
      if (name !== "__proto__") expect(error, name).toMatchObject({ code: "UNKNOWN_PARAMETER", param: name });
      expect(String(error.param)).not.toMatch(/function|object Object/);
    }
  });

  it("a client that leaves mid-stream interrupts the relay and pays for what it got", async () => {
    const { secret, key } = await t.newKey();
    // Two content chunks, then the stream stalls: only the client leaving can end this relay,
    // whatever the load.
    t.dispatcher.stallAfterChunks = 2;
    const abort = new AbortController();
    const response = await postStreamedChat(secret, 8);
    const reader = response.body!.getReader();
    const decoder = new TextDecoder();
    let text = "";
    while ((text.match(/^data: /gm) ?? []).length < 2) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`the stream ended before two chunks: ${text}`);
      text += decoder.decode(value, { stream: true });
    }
    await reader.cancel();
    abort.abort();
    await expect
      .poll(() => t.admin.admin.usage.byKey.query({ keyId: key.id }), { timeout: 60_000, interval: 50 })
      .toMatchObject({
        requests: 1,
        reservedMicroUsd: 0,
      });
    t.dispatcher.stallAfterChunks = undefined;
    const usage = await t.admin.admin.usage.byKey.query({ keyId: key.id });
    expect(usage.spentMicroUsd).toBeGreaterThan(0);
    expect(usage.spentMicroUsd).toBeLessThan(750);
    const rows = await t.admin.admin.reports.usage.query({ keyId: key.id });
    expect(rows).toMatchObject([{ requests: 1, failed: 1, spentMicroUsd: usage.spentMicroUsd }]);
  });

  it("a stream its client read too slowly to end within the tier's time limit is the client's doing: it pays the whole call, and so is its node paid", async () => {
    const { secret, key } = await t.newKey();
    // Two content chunks, then the stream waits until the dispatcher ends it as outpaced.
    t.dispatcher.stallAfterChunks = 2;
    try {
      const response = await postStreamedChat(secret, 8);
      const reader = response.body!.getReader();
      const decoder = new TextDecoder();
      let text = "";
      while ((text.match(/^data: /gm) ?? []).length < 2) {
        const { value, done } = await reader.read();
        if (done) throw new Error(`the stream ended before two chunks: ${text}`);
        text += decoder.decode(value, { stream: true });
      }
      t.dispatcher.outpaceStalled();
      for (let part = await reader.read(); part.done !== true; part = await reader.read())
        text += decoder.decode(part.value, { stream: true });
      expect(text).toMatch(/"code":"STREAM_INTERRUPTED"/);
      expect(text).toContain("did not read the stream within the tier's time limit");
      expect(text.endsWith("data: [DONE]\n\n")).toBe(true);
      const db = new Database(join(t.config.dataDir, "gateway.sqlite"), { readonly: true });
      const rows = db
        .prepare(
          "select outcome, error_code, compute_units, price_micro_usd, leaf_hash from relays where key_id = ?",
        )
        .all(key.id) as Record<string, unknown>[];
      db.close();
      expect(rows).toHaveLength(1);
      // Two of eight tokens reached the client, which did not read the rest in time: the whole
      // call, for the client and the node, as for a client that left.
      expect(rows[0]).toMatchObject({
        outcome: "interrupted",
        error_code: "STREAM_INTERRUPTED",
        compute_units: 750,
        price_micro_usd: 750,
      });
      expect(rows[0]?.leaf_hash).toMatch(/^[0-9a-f]{64}$/);
    } finally {
      t.dispatcher.stallAfterChunks = undefined;
    }
  });

  it("a client that leaves once every choice has finished had the whole answer, and pays the whole price", async () => {
    const { secret, key } = await t.newKey();
    // Every content chunk and the finish, then the stream waits before the node's closing event.
    t.dispatcher.stallAfterFinish = true;
    try {
      // A large cap: a share of it would make the whole answer nearly free.
      const response = await postStreamedChat(secret, 400);
      const reader = response.body!.getReader();
      const decoder = new TextDecoder();
      let text = "";
      while (!text.includes('"finish_reason":"stop"')) {
        const { value, done } = await reader.read();
        if (done) throw new Error(`the stream ended before its finish: ${text}`);
        text += decoder.decode(value, { stream: true });
      }
      await reader.cancel();
      await expect
        .poll(() => t.admin.admin.usage.byKey.query({ keyId: key.id }), { timeout: 60_000, interval: 50 })
        .toMatchObject({ requests: 1, reservedMicroUsd: 0 });
      // The tier's whole price per call, as for a stream that reached [DONE].
      expect((await t.admin.admin.usage.byKey.query({ keyId: key.id })).spentMicroUsd).toBe(750);
    } finally {
      t.dispatcher.stallAfterFinish = false;
    }
  });
});

describe("a stream interrupted between its dispatch and its first write", () => {
  it("is recorded CLIENT_CLOSED, charges nothing, and its node's stream is closed", async () => {
    const { secret, key } = await t.newKey();
    const closedBefore = t.dispatcher.closedStreams;
    // The dispatch returns the stream's events with the fiber's interruption already queued: it
    // lands before the pump (and its own handlers) take the stream over.
    t.dispatcher.interruptOnOpen = true;
    await postStreamedChat(secret, 8)
      .then((response) => response.text())
      .catch(() => undefined);
    await expect
      .poll(() => t.admin.admin.reports.usage.query({ keyId: key.id }), { timeout: 30_000, interval: 20 })
      .toMatchObject([{ requests: 1, failed: 1, spentMicroUsd: 0 }]);
    expect(t.dispatcher.interruptOnOpen).toBe(false);
    expect(t.dispatcher.closedStreams).toBe(closedBefore + 1);
    expect(await t.admin.admin.usage.byKey.query({ keyId: key.id })).toMatchObject({
      spentMicroUsd: 0,
      reservedMicroUsd: 0,
    });
    const db = new Database(join(t.config.dataDir, "gateway.sqlite"), { readonly: true });
    const rows = db.prepare("select outcome, error_code from relays where key_id = ?").all(key.id);
    db.close();
    expect(rows).toEqual([{ outcome: "error", error_code: "CLIENT_CLOSED" }]);
  });
});

describe("metering", () => {
  it("writes one row per relay with the right totals and no text", async () => {
    const { openai, key } = await t.newKey();
    const secretPrompt = "zebra-umbrella-secret prompt text";
    await openai.chat.completions.create({
      model: "llama-2-13b",
      messages: [{ role: "user", content: secretPrompt }],
      max_tokens: 3,
    });
    await openai.completions.create({ model: "llama-2-13b:batch", prompt: secretPrompt, max_tokens: 2 });
    t.dispatcher.failNext = "TIMEOUT";
    await openai.completions.create({ model: "llama-2-13b", prompt: secretPrompt }).catch(() => undefined);
    // A failed relay's row goes through the metering queue after the client has its error.
    await expect
      .poll(() => t.admin.admin.reports.usage.query({ keyId: key.id }), { timeout: 30_000, interval: 20 })
      .toMatchObject([{ requests: 3 }]);
    const report = await t.admin.admin.reports.usage.query({ keyId: key.id });
    expect(report).toHaveLength(1);
    expect(report[0]).toMatchObject({
      serviceId: "llama-2-13b",
      requests: 3,
      failed: 1,
      outputTokens: 5,
      spentMicroUsd: 1250,
    });

    const db = new Database(join(t.config.dataDir, "gateway.sqlite"), { readonly: true });
    const rows = db
      .prepare("select * from relays where key_id = ? order by created_at")
      .all(key.id) as Record<string, unknown>[];
    db.close();
    expect(rows.map((r) => [r.outcome, r.tier, r.price_micro_usd])).toEqual([
      ["ok", "standard", 750],
      ["ok", "batch", 500],
      ["error", "standard", 0],
    ]);
    expect(rows[0]).toMatchObject({ operation: "chat.completions", session_number: 1, compute_units: 750 });
    expect(rows[0]?.leaf_hash).toMatch(/^[0-9a-f]{64}$/);
    expect(rows[2]).toMatchObject({ error_code: "TIMEOUT", session_id: "", attempts: 2 });
    const text = JSON.stringify(rows);
    expect(text).not.toContain("zebra");
    expect(text).not.toContain("relay carries");
    // The operator's log names the failed relay's last node and how it failed, and no prompt.
    const refused = t.logLines.map((l) => JSON.parse(l)).find((l) => l.msg === "request refused");
    expect(refused).toMatchObject({
      code: "TIMEOUT",
      attempts: 2,
      node: "pokt1testnode",
      lastFailure: "timed out",
    });
    expect(t.logLines.join("\n")).not.toContain("zebra");
  });
});

describe("/metrics without metrics.token", () => {
  const elsewhere = nonLoopbackAddress();

  it("refuses a scrape relayed by a proxy on this machine with 403 METRICS_LOCAL_ONLY", async () => {
    for (const header of ["x-forwarded-for", "forwarded", "x-real-ip", "via"]) {
      const refused = await fetch(`${t.gateway.url}/metrics`, { headers: { [header]: "203.0.113.9" } });
      expect(refused.status, header).toBe(403);
      expect(refused.headers.get("www-authenticate")).toBeNull();
      const body = (await refused.json()) as { error: { code: string; type: string; message: string } };
      expect(body.error).toMatchObject({ code: "METRICS_LOCAL_ONLY", type: "permission_error" });
      expect(body.error.message).toContain("metrics.token");
      expect(JSON.stringify(body)).not.toContain("pocket_gateway");
    }
  });

  it.skipIf(elsewhere === undefined)(
    "refuses a scrape from another address, and serves loopback",
    async () => {
      const refused = await getFrom(`${t.gateway.url}/metrics`, elsewhere!);
      expect(refused.status).toBe(403);
      expect(JSON.parse(refused.body)).toMatchObject({ error: { code: "METRICS_LOCAL_ONLY" } });
      expect(refused.body).not.toContain("pocket_gateway");
      const local = await getFrom(`${t.gateway.url}/metrics`, "127.0.0.1");
      expect(local.status).toBe(200);
      expect(local.body).toContain("pocket_gateway_requests_total");
    },
  );

  it("serves everyone with metrics.public: true", async () => {
    const open = await startTestGateway({ metrics: { public: true } });
    try {
      const relayed = await fetch(`${open.gateway.url}/metrics`, {
        headers: { "x-forwarded-for": "203.0.113.9" },
      });
      expect(relayed.status).toBe(200);
      if (elsewhere !== undefined)
        expect((await getFrom(`${open.gateway.url}/metrics`, elsewhere)).status).toBe(200);
    } finally {
      await open.close();
    }
  });
});

describe("/metrics behind metrics.token", () => {
  const token = "scrape-token-0123456789";
  let guarded: TestGateway;
  beforeAll(async () => {
    guarded = await startTestGateway({ metrics: { token } });
  }, 30_000);
  afterAll(() => guarded?.close());

  it("refuses a scrape without the token with 401 METRICS_UNAUTHORIZED, and serves one with it", async () => {
    for (const authorization of [undefined, "Bearer wrong-token-0123456789", token, TEST_ADMIN_TOKEN]) {
      const refused = await fetch(`${guarded.gateway.url}/metrics`, {
        headers: authorization === undefined ? {} : { authorization },
      });
      expect(refused.status, String(authorization)).toBe(401);
      expect(refused.headers.get("www-authenticate")).toBe('Bearer realm="metrics"');
      const body = (await refused.json()) as { error: { code: string; type: string; message: string } };
      expect(body.error).toMatchObject({ code: "METRICS_UNAUTHORIZED", type: "authentication_error" });
      expect(body.error.message).toContain("metrics.token");
      expect(JSON.stringify(body)).not.toContain("pocket_gateway");
    }
    const scrape = await fetch(`${guarded.gateway.url}/metrics`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(scrape.status).toBe(200);
    expect(await scrape.text()).toContain("pocket_gateway_requests_total");
    const elsewhere = nonLoopbackAddress();
    if (elsewhere !== undefined) {
      const remote = await getFrom(`${guarded.gateway.url}/metrics`, elsewhere, {
        authorization: `Bearer ${token}`,
      });
      expect(remote.status).toBe(200);
    }
  });

  it("leaves /health and /ready to load balancers, with no token", async () => {
    expect((await fetch(`${guarded.gateway.url}/health`)).status).toBe(200);
    expect((await fetch(`${guarded.gateway.url}/ready`)).status).toBe(503); // no node yet
  });
});
