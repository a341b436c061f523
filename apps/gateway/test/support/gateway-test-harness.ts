import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createLogger } from "@pocket-ai/runtime";
import { createTRPCClient, httpLink } from "@trpc/client";
import { Effect, Exit, Layer, Scope } from "effect";
import OpenAI from "openai";
import { type RunningGateway, type StartGatewayOptions, startGateway } from "../../src/app/gateway-app.js";
import type { GatewayAppRouter } from "../../src/app/routers.js";
import { defaultRoutingLayer } from "../../src/app/side-layers.js";
import { GatewayConfig } from "../../src/config/gateway-config.js";
import { makeTestDispatcher } from "./test-dispatcher.js";

export const TEST_ADMIN_TOKEN = "test-admin-token-0123456789";

/**
 * For tests: a real gateway on 127.0.0.1:<free port> over a temp data folder, with the test
 * Dispatcher as its routing side, an admin client, and a helper that makes a key and an OpenAI
 * SDK client for it. `onLog` sees each log line as it is written (synchronously). `close()` shuts it down as SIGTERM would and removes the folder.
 */
export async function startTestGateway(
  overrides: Record<string, unknown> = {},
  options: {
    readonly onLog?: (line: string) => void;
    readonly uploadDecodes?: StartGatewayOptions["uploadDecodes"];
  } = {},
) {
  const dataDir = mkdtempSync(join(tmpdir(), "pocket-gateway-app-"));
  const config = GatewayConfig.parse({
    listen: { host: "127.0.0.1", port: 0 },
    dataDir,
    adminToken: TEST_ADMIN_TOKEN,
    metering: { flushMs: 20 },
    drainMs: 2_000,
    ...overrides,
    // The test nodes listen on loopback.
    routing: { allowPrivateEndpoints: true, ...(overrides.routing as Record<string, unknown> | undefined) },
  });
  const dispatcher = makeTestDispatcher();
  const scope = Effect.runSync(Scope.make());
  const lines: string[] = [];
  const log = createLogger({
    app: "gateway-test",
    level: "debug",
    write: (line) => {
      lines.push(line);
      options.onLog?.(line);
    },
  });
  const gateway: RunningGateway = await Effect.runPromise(
    startGateway(config, {
      log,
      // The real routing side (registry, nodes router) with the test Dispatcher in front of it.
      routing: (env) => Layer.merge(defaultRoutingLayer(env), dispatcher.layer),
      ...(options.uploadDecodes === undefined ? {} : { uploadDecodes: options.uploadDecodes }),
    }).pipe(Scope.extend(scope)),
  );
  const admin = createTRPCClient<GatewayAppRouter>({
    links: [httpLink({ url: gateway.trpcUrl, headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}` } })],
  });
  const app = await admin.admin.applications.create.mutate({ name: "Acme" });

  const newKey = async (limits: { rpm?: number; tpm?: number; budgetMicroUsd?: number } = {}) => {
    const { key, secret } = await admin.admin.keys.create.mutate({
      applicationId: app.id,
      name: "k",
      ...limits,
    });
    const openai = new OpenAI({ apiKey: secret, baseURL: `${gateway.url}/v1`, maxRetries: 0 });
    return { key, secret, openai };
  };

  return {
    gateway,
    config,
    dispatcher: dispatcher.control,
    admin,
    app,
    newKey,
    logLines: lines,
    /** Shuts down; the data folder is removed unless `keepData` (then the caller removes it). */
    close: async (options: { readonly keepData?: boolean } = {}) => {
      await Effect.runPromise(Scope.close(scope, Exit.void));
      if (options.keepData !== true) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export type TestGateway = Awaited<ReturnType<typeof startTestGateway>>;
