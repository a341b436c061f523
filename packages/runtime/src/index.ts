export { applyEnvOverrides, ConfigError, loadConfig } from "./config/load-config.js";
export { DatabaseError, type OpenedDatabase, openSqlite } from "./db/sqlite.js";
export { type KeepAliveFetch, type KeepAliveResponse, makeKeepAliveFetch } from "./http/keep-alive-fetch.js";
export { ListenError, type RunningServer, serveHttp } from "./http/serve.js";
export { KeyFileError, loadKeyFile, writeKeyFile } from "./keys/key-file.js";
export { createLogger, type Logger, type LogLevel, redact } from "./log/logger.js";
export { runMain } from "./main/run-main.js";
export { Counter, Gauge, Histogram, LATENCY_BUCKETS, MetricsRegistry } from "./metrics/registry.js";
