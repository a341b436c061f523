import { loadConfig } from "@pocket-ai/runtime";
import { GATEWAY_ENV_PREFIX, GatewayConfig } from "./gateway-config.js";

/** Reads the gateway's config file (YAML or JSON; optional) with `POCKET_GATEWAY__*` overrides applied. */
export const loadGatewayConfig = (file: string | undefined, env?: Record<string, string | undefined>) =>
  loadConfig({
    schema: GatewayConfig,
    file,
    envPrefix: GATEWAY_ENV_PREFIX,
    ...(env === undefined ? {} : { env }),
  });
