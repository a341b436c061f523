import { execFile } from "node:child_process";
import { createServer, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { networkInterfaces } from "node:os";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { contextFromRequest, makeScoreboardRouter } from "@pocket-ai/link";
import { createHTTPServer } from "@trpc/server/adapters/standalone";
import { Runtime } from "effect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { POCKET_GATEWAY_COMMAND } from "./support/command-bundle.js";

const GATEWAY_APP = fileURLToPath(new URL("..", import.meta.url));
const run = promisify(execFile);

/** Loopback servers that answer, but not as a gateway's admin API. */
const answers = {
  "plain 404": (res: ServerResponse) => {
    res.writeHead(404, { "content-type": "text/plain" }).end("Not Found");
  },
  "an HTML page": (res: ServerResponse) => {
    res.writeHead(200, { "content-type": "text/html" }).end("<!doctype html><title>Welcome</title>");
  },
  "JSON of another shape": (res: ServerResponse) => {
    res
      .writeHead(404, { "content-type": "application/json" })
      .end(JSON.stringify({ error: { message: "Unknown route", type: "invalid_request_error" } }));
  },
} as const;

const servers: Server[] = [];
const urls: Record<string, string> = {};
const listen = async (name: string, server: Server) => {
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  urls[name] = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
};
beforeAll(async () => {
  for (const [name, answer] of Object.entries(answers))
    await listen(
      name,
      createServer((_req, res) => answer(res)),
    );
  // A tRPC error with no Pocket AI code (what a gateway's own tRPC layer or a proxy may answer).
  await listen(
    "an uncoded tRPC failure",
    createServer((_req, res) => {
      res.writeHead(500, { "content-type": "application/json" }).end(
        JSON.stringify({
          error: {
            message: "upstream busy",
            code: -32603,
            data: { code: "INTERNAL_SERVER_ERROR", httpStatus: 500 },
          },
        }),
      );
    }),
  );
  // Another Pocket AI tRPC API (the evaluator's scoreboard), at /trpc as a node's or an evaluator's is.
  await listen(
    "another tRPC API",
    createHTTPServer({
      router: makeScoreboardRouter({
        board: () => ({ evaluator: "e", generatedAt: 0, nodes: [] }),
        node: () => null,
      }),
      createContext: contextFromRequest(Runtime.defaultRuntime),
      basePath: "/trpc/",
    }),
  );
});
afterAll(async () => {
  for (const server of servers) await new Promise((resolve) => server.close(resolve));
});

/** The real CLI, run the way an operator runs it; its exit status and what it printed. */
const cli = (...args: string[]) =>
  run(process.execPath, [POCKET_GATEWAY_COMMAND, ...args], {
    cwd: GATEWAY_APP,
    env: { ...process.env, POCKET_GATEWAY__ADMIN_TOKEN: "wrong-url-test-admin-token" },
    timeout: 60_000,
  }).then(
    ({ stdout, stderr }) => ({ status: 0, stdout, stderr }),
    (e: { code?: number; stdout: string; stderr: string }) => ({
      status: e.code,
      stdout: e.stdout,
      stderr: e.stderr,
    }),
  );

const expectNotAnAdminApi = (out: { status: number | undefined; stderr: string }, url: string) => {
  expect(out.status).toBe(1);
  expect(out.stderr).toContain(
    `pocket-gateway: NOT_A_GATEWAY_ADMIN_API: ${url}/trpc does not answer as a Pocket AI gateway's admin API: `,
  );
  expect(out.stderr).not.toMatch(/No procedure found|Unable to transform|Unexpected token|is not valid JSON/);
  expect(out.stderr).not.toMatch(/\n\s+at /);
};

describe("pocket-gateway admin and settlement commands pointed at something that is not the admin API", () => {
  it.each(Object.keys(answers).concat("another tRPC API"))(
    "say the URL is not a gateway's admin API and what to pass instead: %s",
    async (name) => {
      const url = urls[name]!;
      const out = await cli("admin", "apps", "list", "--url", url);
      expectNotAnAdminApi(out, url);
      expect(out.stderr).toContain("Pass --url or set POCKET_GATEWAY_URL to the gateway's own address");
    },
    60_000,
  );

  it("name the procedure another tRPC API does not have", async () => {
    const out = await cli("tally", "--url", urls["another tRPC API"]!);
    expectNotAnAdminApi(out, urls["another tRPC API"]!);
    expect(out.stderr).toContain("it has no admin.settlement.tally.week procedure");
  }, 60_000);

  it("tell an operator who gave the /v1 base, a path under it or the portal to drop it", async () => {
    const url = urls["JSON of another shape"]!;
    for (const given of [`${url}/v1`, `${url}/v1/models`, `${url}/portal`]) {
      const out = await cli("claims", "list", "--url", given);
      expectNotAnAdminApi(out, given);
      expect(out.stderr).toContain(
        `That address is under the gateway's OpenAI base (/v1) or its portal: pass the gateway's own address, --url ${url}`,
      );
    }
  }, 60_000);

  it("tell an operator who gave an address without its scheme to add it", async () => {
    const bare = urls["plain 404"]!.replace(/^http:\/\//, "");
    const out = await cli("admin", "apps", "list", "--url", bare);
    expect(out.status).toBe(1);
    expect(out.stderr).toContain(`BAD_GATEWAY_URL: ${bare} is not an http:// or https:// address`);
    expect(out.stderr).not.toMatch(/\n\s+at /);
  }, 60_000);
});

describe("pocket-gateway admin and settlement commands that cannot make their call", () => {
  it("say where nothing answered with GATEWAY_UNREACHABLE and how to point the command elsewhere", async () => {
    const closed = await new Promise<string>((resolve) => {
      const server = createServer();
      server.listen(0, "127.0.0.1", () => {
        const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
        server.close(() => resolve(url));
      });
    });
    for (const args of [
      ["admin", "apps", "list"],
      ["rates", "list"],
    ]) {
      const out = await cli(...args, "--url", closed);
      expect(out.status).toBe(1);
      expect(out.stderr).toContain(
        `pocket-gateway: GATEWAY_UNREACHABLE: cannot reach the gateway's admin API at ${closed}/trpc (ECONNREFUSED): is the gateway running there?`,
      );
      expect(out.stderr).not.toMatch(/\n\s+at /);
    }
  }, 60_000);

  it("say ADMIN_CALL_FAILED when the admin API fails without a code, with what came back", async () => {
    const out = await cli("admin", "apps", "list", "--url", urls["an uncoded tRPC failure"]!);
    expect(out.status).toBe(1);
    expect(out.stderr).toContain(
      `pocket-gateway: ADMIN_CALL_FAILED: the gateway's admin API at ${urls["an uncoded tRPC failure"]}/trpc failed the call without a code (upstream busy): read the gateway's log`,
    );
  }, 60_000);

  it("stop with INVALID_CONFIG and where to set the token when there is none", async () => {
    const { POCKET_GATEWAY__ADMIN_TOKEN: _, ...env } = process.env;
    const out = await run(
      process.execPath,
      [POCKET_GATEWAY_COMMAND, "admin", "apps", "list", "--url", urls["plain 404"]!],
      { cwd: GATEWAY_APP, env, timeout: 60_000 },
    ).then(
      () => ({ status: 0, stderr: "" }),
      (e: { code?: number; stderr: string }) => ({ status: e.code, stderr: e.stderr }),
    );
    expect(out.status).toBe(1);
    expect(out.stderr).toContain(
      "pocket-gateway: INVALID_CONFIG: no admin token: set adminToken in the config or POCKET_GATEWAY__ADMIN_TOKEN",
    );
  }, 60_000);

  it.each([
    [["admin", "apps", "create"], "--name is required", "pocket-gateway admin apps create --name NAME"],
    [
      ["rates", "set", "--week", "2026-W48"],
      "rates set needs --usd-per-pokt",
      "pocket-gateway rates set --week",
    ],
  ])(
    "refuse %j as a usage error: exit 2, what is missing and the usage",
    async (args, said, usage) => {
      const out = await cli(...args, "--url", urls["plain 404"]!);
      expect(out.status).toBe(2);
      expect(out.stderr).toContain(`pocket-gateway: ${said}`);
      expect(out.stderr).toContain(usage);
      expect(out.stderr).not.toMatch(/\n\s+at /);
    },
    60_000,
  );
});

describe("pocket-gateway admin and settlement commands pointed at plain http on another host", () => {
  // This machine's own network address stands in for another host: what reaches it could cross a
  // network. The listener records every request's authorization header.
  const address = Object.values(networkInterfaces())
    .flat()
    .find((i) => i?.family === "IPv4" && !i.internal)?.address;
  const seen: (string | undefined)[] = [];
  let remote = "";
  let server: Server | undefined;
  beforeAll(async () => {
    if (address === undefined) return;
    server = createServer((req, res) => {
      seen.push(req.headers.authorization);
      res.writeHead(401, { "content-type": "application/json" }).end("{}");
    });
    await new Promise<void>((resolve) => server!.listen(0, address, resolve));
    remote = `http://${address}:${(server.address() as AddressInfo).port}`;
  });
  afterAll(
    () => new Promise((resolve) => (server === undefined ? resolve(undefined) : server.close(resolve))),
  );

  it("refuse with INSECURE_GATEWAY_URL before sending the token, from --url or POCKET_GATEWAY_URL", async (ctx) => {
    if (address === undefined) ctx.skip();
    const fromFlag = await cli("admin", "keys", "list", "--url", remote);
    const fromEnv = await run(process.execPath, [POCKET_GATEWAY_COMMAND, "rates", "list"], {
      cwd: GATEWAY_APP,
      env: {
        ...process.env,
        POCKET_GATEWAY__ADMIN_TOKEN: "wrong-url-test-admin-token",
        POCKET_GATEWAY_URL: remote,
      },
      timeout: 60_000,
    }).then(
      () => ({ status: 0, stderr: "" }),
      (e: { code?: number; stderr: string }) => ({ status: e.code, stderr: e.stderr }),
    );
    for (const out of [fromFlag, fromEnv]) {
      expect(out.status).toBe(1);
      expect(out.stderr).toContain(
        `pocket-gateway: INSECURE_GATEWAY_URL: ${remote} is plain http to another host: the admin token would cross the network in clear, so it was not sent. Pass the gateway's https:// address (--url https://${address}:`,
      );
      expect(out.stderr).toContain("or add --insecure if the network between is yours");
      expect(out.stderr).not.toContain("wrong-url-test-admin-token");
    }
    expect(seen).toEqual([]);
  }, 60_000);

  it("send it with --insecure, the operator's word that the network is theirs", async (ctx) => {
    if (address === undefined) ctx.skip();
    const out = await cli("admin", "keys", "list", "--url", remote, "--insecure");
    expect(out.stderr).toContain(`NOT_A_GATEWAY_ADMIN_API: ${remote}/trpc`);
    expect(seen).toEqual(["Bearer wrong-url-test-admin-token"]);
  }, 60_000);
});
