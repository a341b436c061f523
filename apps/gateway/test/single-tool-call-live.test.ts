import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createLogger } from "@pocket-ai/runtime";
import { createTRPCClient, httpLink } from "@trpc/client";
import { Effect, Exit, Scope } from "effect";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningGateway, startGateway } from "../src/app/gateway-app.js";
import type { GatewayAppRouter } from "../src/app/routers.js";
import { GatewayConfig } from "../src/config/gateway-config.js";
import { seriesValue } from "./support/live-network.js";
import { type Lie, type LyingNode, startLyingNode } from "./support/lying-node.js";
import { until } from "./support/until.js";

/**
 * A real gateway in front of a node whose answers call tools, driven by the official `openai`
 * client: with `parallel_tool_calls: false`, an answer or stream that makes a second tool call in
 * a choice is refused (`TOOL_CALLS`), as OpenAI's API never answers so; one tool call, or several
 * where the client allowed them, reach the client whole.
 */

const ADMIN = "single-tool-call-admin-token";
const SESSION = { mode: "time", genesisMs: 0, sessionLengthMs: 600_000, graceMs: 60_000 } as const;

let gateway: RunningGateway;
let scope: Scope.CloseableScope;
let dataDir: string;
let admin: ReturnType<typeof adminClient>;
let openai: OpenAI;
let node: LyingNode;
const lines: string[] = [];

function adminClient(url: string) {
  return createTRPCClient<GatewayAppRouter>({
    links: [httpLink({ url, headers: { authorization: `Bearer ${ADMIN}` } })],
  });
}

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), "pocket-single-tool-call-"));
  const config = GatewayConfig.parse({
    listen: { host: "127.0.0.1", port: 0 },
    dataDir,
    adminToken: ADMIN,
    metering: { flushMs: 20 },
    drainMs: 1_000,
    routing: { session: SESSION, hedge: { enabled: false }, retry: { maxAttempts: 1 } },
  });
  scope = Effect.runSync(Scope.make());
  const log = createLogger({
    app: "gateway-tool-calls-test",
    level: "warn",
    write: (line) => lines.push(line),
  });
  gateway = await Effect.runPromise(startGateway(config, { log }).pipe(Scope.extend(scope)));
  admin = adminClient(gateway.trpcUrl);
  const applicationId = (await admin.admin.applications.create.mutate({ name: "Tools" })).id;
  const { secret } = await admin.admin.keys.create.mutate({ applicationId, name: "tools" });
  openai = new OpenAI({ apiKey: secret, baseURL: `${gateway.url}/v1`, maxRetries: 0 });
  node = await startLyingNode({
    gatewayTrpcUrl: gateway.trpcUrl,
    gatewayAddress: gateway.key.address,
    session: SESSION,
    maxTokens: 60,
  });
  await until(
    async () => {
      const list = (await admin.admin.nodes.list.query()) as { address: string; fresh: boolean }[];
      return list.some((n) => n.address === node.address && n.fresh);
    },
    "the node to register",
    60_000,
  );
}, 120_000);

afterAll(async () => {
  await node?.stop();
  if (scope !== undefined) await Effect.runPromise(Scope.close(scope, Exit.void));
  if (dataDir !== undefined) rmSync(dataDir, { recursive: true, force: true });
});

const request = (parallel: boolean | undefined) => ({
  model: "llama-2-13b",
  messages: [{ role: "user" as const, content: "What is the weather in two cities?" }],
  max_tokens: 20,
  ...(parallel === undefined ? {} : { parallel_tool_calls: parallel }),
});

/** The tool calls the client got in the first choice, or the error's code when it got none. */
async function unary(lie: Lie, parallel: boolean | undefined): Promise<number | string> {
  await admin.admin.nodes.unsanction.mutate({ address: node.address });
  node.lie = lie;
  try {
    const answer = await openai.chat.completions.create(request(parallel));
    return answer.choices[0]?.message.tool_calls?.length ?? 0;
  } catch (error) {
    return (error as { code?: string }).code ?? "(none)";
  }
}

/** The distinct tool-call indexes the client got in a stream, or the error's code when it broke. */
async function streamed(lie: Lie, parallel: boolean | undefined): Promise<number | string> {
  await admin.admin.nodes.unsanction.mutate({ address: node.address });
  node.lie = lie;
  const indexes = new Set<number>();
  try {
    const stream = await openai.chat.completions.create({ ...request(parallel), stream: true });
    for await (const chunk of stream)
      for (const call of chunk.choices[0]?.delta.tool_calls ?? []) indexes.add(call.index);
    return indexes.size;
  } catch (error) {
    return (error as { code?: string }).code ?? "(none)";
  }
}

const refusals = () =>
  lines
    .map((line) => JSON.parse(line) as { reason?: string; msg?: string })
    .filter((l) => l.reason === "TOOL_CALLS");

/** Every refusal is counted (the log holds back a node's repeats of one reason). */
const refused = () =>
  seriesValue(
    gateway.url,
    `pocket_gateway_node_refused_answers_total{node="${node.address}",reason="TOOL_CALLS"}`,
  );

describe("parallel_tool_calls: false holds against the node's answer", () => {
  it("unary: a second tool call is refused; one, or several where allowed, pass", async () => {
    expect(await unary("two-tool-calls", undefined)).toBe(2);
    expect(await unary("two-tool-calls", true)).toBe(2);
    expect(await unary("one-tool-call", false)).toBe(1);
    expect(refusals()).toHaveLength(0);
    expect(await unary("two-tool-calls", false)).toBe("INVALID_NODE_RESPONSE");
    expect(await refused()).toBe(1);
    expect(refusals()).toEqual([
      expect.objectContaining({
        msg: "node answer refused: it failed the gateway's checks",
        detail: "choice 0 makes 2 tool calls; the request set parallel_tool_calls: false (at most one)",
      }),
    ]);
  }, 120_000);

  it("streams: a second tool-call index cuts the stream; one call over several deltas passes", async () => {
    const before = await refused();
    expect(await streamed("two-tool-calls", undefined)).toBe(2);
    expect(await streamed("one-tool-call", false)).toBe(1);
    expect(await refused()).toBe(before);
    expect(await streamed("two-tool-calls", false)).toBe("STREAM_INTERRUPTED");
    expect(await refused()).toBe(before + 1);
  }, 120_000);
});
