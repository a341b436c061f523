import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { tinyModelPath } from "@pocket-ai/tiny-model";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bundle } from "../bundle.mjs";

/**
 * The files operators deploy (`pnpm build` in apps/gateway and apps/node) run under plain `node`,
 * with no TypeScript loader: each finds its migrations and data in its package folder, loads its
 * native bindings from node_modules (the llama.cpp binding too, for a `gguf` backend), and the two
 * together serve the official OpenAI client.
 */

const repo = fileURLToPath(new URL("../../..", import.meta.url));
const ADMIN_TOKEN = "bundle-test-admin-token-0123456789";
const work = mkdtempSync(join(tmpdir(), "pocket-bundle-test-"));
const children: ChildProcess[] = [];

interface Started {
  readonly child: ChildProcess;
  readonly log: () => string;
  readonly line: RegExpExecArray;
}

/** Runs `node <bundle> start --config <json>` and waits for the log line `ready` matches. */
async function startBundle(file: string, config: object, ready: RegExp): Promise<Started> {
  const configFile = join(work, `${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(configFile, JSON.stringify(config));
  const child = spawn(process.execPath, [file, "start", "--config", configFile], {
    cwd: work,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, NODE_OPTIONS: "" },
  });
  children.push(child);
  let log = "";
  const onData = (d: Buffer) => {
    log += d.toString();
  };
  child.stdout?.on("data", onData);
  child.stderr?.on("data", onData);
  const line = await new Promise<RegExpExecArray>((resolve, reject) => {
    const check = () => {
      const match = ready.exec(log);
      if (match === null) return;
      child.stdout?.off("data", check);
      child.stderr?.off("data", check);
      resolve(match);
    };
    child.stdout?.on("data", check);
    child.stderr?.on("data", check);
    child.once("exit", (code) =>
      reject(new Error(`${file} exited with ${code} before it was ready:\n${log}`)),
    );
  });
  return { child, log: () => log, line };
}

const exited = (child: ChildProcess) =>
  new Promise<number | null>((resolve) => {
    if (child.exitCode !== null) resolve(child.exitCode);
    else child.once("exit", (code) => resolve(code));
  });

/** Calls the gateway's admin API: a mutation with `input`, else a query. */
async function admin<T>(trpcUrl: string, procedure: string, input?: unknown): Promise<T> {
  const response = await fetch(`${trpcUrl}/${procedure}`, {
    method: input === undefined ? "GET" : "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${ADMIN_TOKEN}` },
    ...(input !== undefined && { body: JSON.stringify(input) }),
  });
  const body = (await response.json()) as { result?: { data: T }; error?: unknown };
  if (body.result === undefined) throw new Error(`${procedure}: ${JSON.stringify(body.error)}`);
  return body.result.data;
}

let gateway: Started;
let node: Started;
let openai: OpenAI;
let gatewayUrl: string;

const gatewayFile = join(repo, "apps/gateway/dist/pocket-gateway.test.mjs");
const nodeFile = join(repo, "apps/node/dist/pocket-node.test.mjs");

beforeAll(async () => {
  await bundle({ entry: join(repo, "apps/gateway/src/cli.ts"), outfile: gatewayFile });
  await bundle({ entry: join(repo, "apps/node/src/cli.ts"), outfile: nodeFile });

  gateway = await startBundle(
    gatewayFile,
    {
      listen: { host: "127.0.0.1", port: 0 },
      dataDir: join(work, "gateway"),
      adminToken: ADMIN_TOKEN,
      logLevel: "info",
      // The nodes listen on loopback.
      routing: { healthCheckMs: 500, announceEveryMs: 2_000, allowPrivateEndpoints: true },
    },
    /"msg":"gateway started","url":"([^"]+)","address":"([^"]+)"/,
  );
  gatewayUrl = gateway.line[1]!;
  const application = await admin<{ id: string }>(`${gatewayUrl}/trpc`, "admin.applications.create", {
    name: "bundle test",
  });
  const { secret } = await admin<{ secret: string }>(`${gatewayUrl}/trpc`, "admin.keys.create", {
    applicationId: application.id,
    name: "bundle test",
  });
  openai = new OpenAI({ apiKey: secret, baseURL: `${gatewayUrl}/v1`, maxRetries: 0 });

  node = await startBundle(
    nodeFile,
    {
      listen: { host: "127.0.0.1", port: 0 },
      dataDir: join(work, "node"),
      logLevel: "info",
      gateways: [{ url: `${gatewayUrl}/trpc`, address: gateway.line[2] }],
      services: [
        {
          serviceId: "llama-2-13b",
          tiers: ["standard"],
          model: { declared: "pocket-ai-dev-ngram", family: "dev", quantization: "none" },
          backends: [{ kind: "dev" }],
        },
        {
          // A real model in llama.cpp: the bundle loads the binding from the node's node_modules.
          serviceId: "mistral-7b",
          tiers: ["standard"],
          backends: [
            {
              kind: "gguf",
              modelPath: tinyModelPath("pocket-tiny"),
              gpu: "off",
              threads: 1,
              maxConcurrency: 1,
            },
          ],
        },
      ],
    },
    /"msg":"node started","url":"([^"]+)"/,
  );
  // The node is routable once the gateway lists it healthy.
  for (;;) {
    const nodes = await admin<{ address: string; healthy?: boolean }[]>(
      `${gatewayUrl}/trpc`,
      "admin.nodes.list",
    );
    if (nodes.length > 0 && nodes.every((n) => n.healthy !== false)) break;
    await new Promise((r) => setTimeout(r, 200));
  }
}, 180_000);

afterAll(async () => {
  for (const child of children) if (child.exitCode === null) child.kill("SIGKILL");
  await Promise.all(children.map(exited));
  rmSync(join(repo, "apps/gateway/dist/pocket-gateway.test.mjs"), { force: true });
  rmSync(join(repo, "apps/node/dist/pocket-node.test.mjs"), { force: true });
  rmSync(work, { recursive: true, force: true });
});

describe("bundled gateway and node under plain node", () => {
  it("are ASCII only, so V8 keeps each source as a one-byte string (half the memory)", () => {
    for (const file of [gatewayFile, nodeFile]) {
      const text = readFileSync(file, "utf8");
      // The sources hold non-ASCII comments (≤, →): the bundler escaped them, it did not drop them.
      expect(text).toContain("\\u2192");
      expect(text.match(/[\u0080-\uffff]/g) ?? []).toEqual([]);
    }
  });

  it("answer --help and an unknown command with the usage (exit 0 and 2), no stack trace", () => {
    for (const [file, name] of [
      [gatewayFile, "pocket-gateway"],
      [nodeFile, "pocket-node"],
    ] as const) {
      const run = (args: string[]) =>
        spawnSync(process.execPath, [file, ...args], {
          cwd: work,
          encoding: "utf8",
          env: { ...process.env, NODE_OPTIONS: "" },
        });
      const help = run(["--help"]);
      expect(help.status).toBe(0);
      expect(help.stdout).toContain(`${name} start [--config`);
      const wrong = run(["strat"]);
      expect(wrong.status).toBe(2);
      expect(wrong.stderr).toContain(`${name}: unknown command "strat"`);
      expect(wrong.stderr).not.toMatch(/\n\s+at /);
    }
  });

  it("serve a chat completion and a stream to the official client, signed and metered", async () => {
    const chat = await openai.chat.completions.create({
      model: "llama-2-13b",
      messages: [{ role: "user", content: "Say something about the sea." }],
      max_tokens: 8,
    });
    expect(chat.choices[0]?.message.content?.length).toBeGreaterThan(0);
    expect(chat.usage?.completion_tokens).toBeGreaterThan(0);

    const stream = await openai.chat.completions.create({
      model: "llama-2-13b",
      messages: [{ role: "user", content: "And about the mountains." }],
      max_tokens: 8,
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = "";
    let completionTokens = 0;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? "";
      completionTokens = chunk.usage?.completion_tokens ?? completionTokens;
    }
    expect(text.length).toBeGreaterThan(0);
    expect(completionTokens).toBeGreaterThan(0);

    // The gateway's ledger (its migrations ran from the package folder) holds both relays.
    const usage = await admin<{ requests: number }[]>(`${gatewayUrl}/trpc`, "admin.usage.list");
    expect(usage.reduce((n, u) => n + u.requests, 0)).toBeGreaterThanOrEqual(2);
  });

  it("serve a real model through the bundled node's gguf backend (llama.cpp binding found from the bundle)", async () => {
    const completion = await openai.completions
      .create({ model: "mistral-7b", prompt: "The sea", max_tokens: 6, temperature: 0 })
      .catch((error: unknown) => {
        // What the node logged (model load, llama.cpp) says why, where the 502 alone cannot.
        throw new Error(`${String(error)}\nthe node's log:\n${node.log().slice(-6_000)}`);
      });
    expect(completion.choices[0]?.text.length).toBeGreaterThan(0);
    expect(completion.usage?.completion_tokens).toBeGreaterThan(0);
    expect(completion.system_fingerprint).toBe("pocket-ai-gguf");
  });

  it("run a node of several workers: each worker re-runs the bundle and serves on the node's port", async () => {
    const workers = await startBundle(
      nodeFile,
      {
        listen: { host: "127.0.0.1", port: 0 },
        dataDir: join(work, "node-workers"),
        logLevel: "info",
        workers: 2,
        services: [{ serviceId: "llama-2-13b", tiers: ["standard"], backends: [{ kind: "dev" }] }],
      },
      /"msg":"node started","url":"([^"]+)"/,
    );
    // A new connection each time: the primary hands connections to its workers in turn.
    const seen = new Set<number>();
    for (let i = 0; i < 4; i++) {
      const health = (await (
        await fetch(`${workers.line[1]}/health`, { headers: { connection: "close" } })
      ).json()) as { ok: boolean; worker?: number };
      expect(health.ok).toBe(true);
      if (health.worker !== undefined) seen.add(health.worker);
    }
    expect([...seen].sort()).toEqual([1, 2]);
    workers.child.kill("SIGTERM");
    expect(await exited(workers.child)).toBe(0);
  });

  it("stop cleanly on SIGTERM", async () => {
    node.child.kill("SIGTERM");
    gateway.child.kill("SIGTERM");
    expect(await exited(node.child)).toBe(0);
    expect(await exited(gateway.child)).toBe(0);
  });
});
