import { loadConfig } from "@pocket-ai/runtime";
import { GATEWAY_ENV_PREFIX, GatewayConfig } from "./gateway-config.js";

/**
 * Reads the gateway's config file (YAML or JSON; optional) with `POCKET_GATEWAY__*` overrides
 * applied. `POCKET_DATABASE_URL` is the short name of `POCKET_GATEWAY__DATABASE__URL` (the longer
 * one wins when both are set).
 */
export const loadGatewayConfig = (file: string | undefined, env?: Record<string, string | undefined>) => {
  const source = env ?? process.env;
  const databaseUrl = source.POCKET_DATABASE_URL;
  const merged =
    databaseUrl !== undefined && databaseUrl !== "" && source.POCKET_GATEWAY__DATABASE__URL === undefined
      ? { ...source, POCKET_GATEWAY__DATABASE__URL: databaseUrl }
      : env;
  return loadConfig({
    schema: GatewayConfig,
    file,
    envPrefix: GATEWAY_ENV_PREFIX,
    ...(merged === undefined ? {} : { env: merged }),
  });
};
