/**
 * `@pocket-ai/gateway` as a library: start a gateway inside another process (the local network,
 * tests). Operators run the CLI instead (`src/cli.ts`).
 */

export { GatewayStartError, type RunningGateway, startGateway } from "./app/gateway-app.js";
export type { GatewayAppRouter } from "./app/routers.js";
export { GatewayConfig } from "./config/gateway-config.js";
