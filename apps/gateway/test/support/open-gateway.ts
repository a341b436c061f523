import { createLogger } from "@pocket-ai/runtime";
import { Effect, Exit, Scope } from "effect";
import { type RunningGateway, startGateway } from "../../src/app/gateway-app.js";
import { GatewayConfig } from "../../src/config/gateway-config.js";
import type { StoreLocation } from "../../src/db/database.js";
import { LIVE_ADMIN_TOKEN, type LiveSession } from "./live-network.js";

/**
 * A gateway on `dataDir` and `location`, started in its own scope (closed by `stop`): for tests
 * that stop a gateway and start another on the same database.
 */
export async function openGateway(dataDir: string, location: StoreLocation, session: LiveSession) {
  const scope = Effect.runSync(Scope.make());
  const gateway: RunningGateway = await Effect.runPromise(
    startGateway(
      GatewayConfig.parse({
        listen: { host: "127.0.0.1", port: 0 },
        dataDir,
        adminToken: LIVE_ADMIN_TOKEN,
        // The test nodes listen on loopback.
        routing: { session, healthCheckMs: 60_000, allowPrivateEndpoints: true },
        metering: { flushMs: 20 },
        drainMs: 2_000,
        ...("url" in location ? { database: { url: location.url } } : {}),
      }),
      { log: createLogger({ app: "live-gateway", level: "error" }) },
    ).pipe(Scope.extend(scope)),
  );
  return { gateway, stop: () => Effect.runPromise(Scope.close(scope, Exit.void)) };
}
