import type { BackendConfig } from "../../src/config/node-config.js";

/**
 * A `BackendConfig` with the schema's defaults, built by hand so that backend tests do not load
 * the whole node configuration module.
 */
export function backendConfig(fields: Pick<BackendConfig, "kind"> & Partial<BackendConfig>): BackendConfig {
  return {
    maxConcurrency: 4,
    maxQueue: 32,
    probeAtStart: true,
    timeoutMs: 120_000,
    quality: 1,
    tokensPerSecond: 0,
    firstTokenMs: 0,
    ...fields,
  };
}
