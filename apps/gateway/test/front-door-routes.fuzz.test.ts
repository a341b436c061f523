import { ErrorCodes } from "@pocket-ai/protocol";
import { Effect } from "effect";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeAppRouter } from "../src/app/routers.js";
import { startTestGateway, TEST_ADMIN_TOKEN, type TestGateway } from "./support/gateway-test-harness.js";

/**
 * A property-based fuzz of every door of the gateway other than the relay bodies (those are
 * `front-door.fuzz.test.ts`'s): each tRPC procedure (admin, node-facing, portal admin), the GET
 * paths, the portal, unknown paths; any method, any query and body; no credentials, a wrong one,
 * a customer key, a key with no budget. Whatever arrives: never a 5xx, never a stack trace or a
 * file path, and every refusal on the API (`/v1/…`, `/trpc/…`) is JSON carrying one of the
 * protocol's stable codes. The operator's procedures never answer anyone but the operator.
 */

let t: TestGateway;
let customer: string;
let broke: string;
beforeAll(async () => {
  t = await startTestGateway();
  customer = (await t.newKey()).secret;
  broke = (await t.newKey({ budgetMicroUsd: 0 })).secret;
}, 60_000);
afterAll(() => t?.close());

/** Every procedure the gateway serves, read from its router (building it touches no database). */
const PROCEDURES = Object.keys(
  (
    makeAppRouter({ db: undefined as never, flushMetering: Effect.void }) as unknown as {
      _def: { procedures: Record<string, unknown> };
    }
  )._def.procedures,
);

const GET_PATHS = [
  "/health",
  "/ready",
  "/metrics",
  "/v1/models",
  "/v1/models/llama-2-13b",
  "/v1/pocket/traffic-mix",
  "/v1/pocket/organic-samples",
  "/v1/images/content/",
  "/portal/",
  "/portal/keys",
  "/portal/usage",
  "/portal/catalog",
  "/portal/login",
  "/portal/admin/nodes",
  "/portal/admin/settlement",
  "/portal/assets/portal.css",
  "/",
  "/favicon.ico",
];
const RELAY_PATHS = [
  "/v1/completions",
  "/v1/chat/completions",
  "/v1/embeddings",
  "/v1/images/generations",
  "/v1/responses",
];

type Auth = "none" | "garbage" | "customer" | "broke" | "wrong-admin";
const authHeader = (auth: Auth): string | undefined =>
  auth === "none"
    ? undefined
    : auth === "garbage"
      ? "Bearer sk-not-a-key"
      : auth === "customer"
        ? `Bearer ${customer}`
        : auth === "broke"
          ? `Bearer ${broke}`
          : `Bearer ${TEST_ADMIN_TOKEN}x`;

const hostileText = fc.oneof(
  fc.constantFrom(
    "",
    "..",
    "%2e%2e/%2e%2e/etc/passwd",
    "%00",
    "%ff",
    "🦙",
    "a".repeat(300),
    "null",
    "{}",
    "[]",
  ),
  fc.string({ maxLength: 30 }),
);
const jsonish = fc.oneof(
  fc.json({ maxDepth: 3 }),
  fc.constantFrom('{"json":{}}', '{"json":null}', '{"0":{"json":{}}}', "1e999", '{"__proto__":{"x":1}}'),
  hostileText,
);

const path = fc.oneof(
  {
    weight: 4,
    arbitrary: fc
      .record({
        name: fc.oneof(
          { weight: 5, arbitrary: fc.constantFrom(...PROCEDURES) },
          { weight: 1, arbitrary: hostileText },
        ),
        input: fc.option(jsonish, { nil: undefined }),
        batch: fc.boolean(),
      })
      .map(
        ({ name, input, batch }) =>
          `/trpc/${encodeURI(name)}${batch ? "?batch=1" : ""}${input === undefined ? "" : `${batch ? "&" : "?"}input=${encodeURIComponent(input)}`}`,
      ),
  },
  { weight: 2, arbitrary: fc.constantFrom(...GET_PATHS) },
  { weight: 1, arbitrary: fc.constantFrom(...RELAY_PATHS) },
  {
    weight: 1,
    arbitrary: fc
      .tuple(
        fc.constantFrom("/v1/", "/v1/models/", "/v1/images/content/", "/portal/", "/trpc/", "/"),
        hostileText,
      )
      .map(([prefix, rest]) => prefix + encodeURI(rest)),
  },
);

const request = fc.record({
  method: fc.constantFrom("GET", "POST", "PUT", "DELETE", "PATCH"),
  path,
  auth: fc.constantFrom<Auth>("none", "garbage", "customer", "broke", "wrong-admin"),
  body: fc.option(jsonish, { nil: undefined }),
});

/** What must never leave a process: stack frames, source or module paths. */
const LEAK = /\n\s+at |\bat [\w.<>]+ \(|node_modules|\/work\/|file:\/\/|\.ts:\d+|\.js:\d+/;

/** The stable code of an API refusal, or why there is none. */
function stableCode(url: string, text: string): string {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return `not JSON: ${text.slice(0, 80)}`;
  }
  const first = Array.isArray(body) ? body[0] : body;
  const error = (first as { error?: { code?: unknown; data?: { pocketCode?: unknown } } } | null)?.error;
  const code = url.startsWith("/trpc/") ? error?.data?.pocketCode : error?.code;
  return typeof code === "string" && code in ErrorCodes ? "ok" : `no stable code: ${text.slice(0, 160)}`;
}

describe("fuzz: every route, any method, any credentials", () => {
  it("answers no 5xx, leaks nothing, refuses in JSON with a stable code, and keeps the operator's API to the operator", async () => {
    let sent = 0;
    const statuses = new Map<number, number>();
    const problems: string[] = [];
    await fc.assert(
      fc.asyncProperty(request, async ({ method, path: url, auth, body }) => {
        const headers: Record<string, string> = {};
        const authorization = authHeader(auth);
        if (authorization !== undefined) headers.authorization = authorization;
        if (body !== undefined && method !== "GET") headers["content-type"] = "application/json";
        const response = await fetch(`${t.gateway.url}${url}`, {
          method,
          headers,
          ...(method === "GET" || body === undefined ? {} : { body }),
          redirect: "manual",
        });
        const text = await response.text();
        sent++;
        statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
        const where = `${method} ${url} (${auth}) → ${response.status}`;
        // What the server saw: the URL as fetch normalizes it (`/trpc/..` is `/`).
        const seen = new URL(`${t.gateway.url}${url}`).pathname;
        const notReady = seen === "/ready" && response.status === 503;
        if (response.status >= 500 && !notReady) problems.push(`${where}: ${text.slice(0, 200)}`);
        if (LEAK.test(text)) problems.push(`${where} leaks: ${text.slice(0, 200)}`);
        const api = seen.startsWith("/trpc/") || seen.startsWith("/v1/");
        if (api && response.status >= 400) {
          const code = stableCode(seen, text);
          if (code !== "ok") problems.push(`${where}: ${code}`);
        }
        if (seen.startsWith("/trpc/admin.") && response.status < 400)
          problems.push(`${where}: the operator's API answered a non-operator`);
        return true;
      }),
      { numRuns: 400, seed: Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31) },
    );
    console.info(
      `route fuzz: ${sent} requests, ${problems.length} problems; statuses ${JSON.stringify(Object.fromEntries(statuses))}`,
    );
    expect(problems).toEqual([]);
    expect(PROCEDURES.length).toBeGreaterThan(10);
  }, 600_000);

  it("refuses relays without credentials (401) and without budget (402) with their stable codes", async () => {
    const relay = (authorization: string | undefined) =>
      fetch(`${t.gateway.url}/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json", ...(authorization ? { authorization } : {}) },
        body: JSON.stringify({
          model: "llama-2-13b",
          messages: [{ role: "user", content: "hi" }],
          max_tokens: 3,
        }),
      });
    const cases: [string | undefined, number, string][] = [
      [undefined, 401, "INVALID_API_KEY"],
      ["Bearer sk-not-a-key", 401, "INVALID_API_KEY"],
      [`Bearer ${broke}`, 402, "BUDGET_EXHAUSTED"],
    ];
    for (const [authorization, status, code] of cases) {
      const response = await relay(authorization);
      expect(response.status).toBe(status);
      expect(((await response.json()) as { error: { code: string } }).error.code).toBe(code);
    }
  });
});
