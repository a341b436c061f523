export { applyEnvOverrides, ConfigError, loadConfig } from "./config/load-config.js";
export {
  databaseErrorCode,
  databaseUnavailable,
  describeDatabaseFailure,
  describeThrown,
  sqliteRemedy,
  withDatabaseRemedy,
} from "./db/database-failure.js";
export { type OpenedPostgres, openPostgres, PostgresError, redactDatabaseUrl } from "./db/postgres.js";
export {
  PlainSql,
  type PlainSqlValue,
  plainSql,
  postgresClient,
  type SqlClient,
  type SqlDialect,
  type SqlQuery,
  sqliteClient,
} from "./db/sql-client.js";
export {
  runSteps,
  runStepsSync,
  type SqlCall,
  type SqlStep,
  type SqlSteps,
  type SyncSql,
  sqlAll,
  sqlGet,
  sqlRun,
} from "./db/sql-steps.js";
export { DatabaseError, type OpenedDatabase, openSqlite } from "./db/sqlite.js";
export { DatabaseNewerThanAppError } from "./db/unknown-migrations.js";
export {
  type CheckpointerOptions,
  type CheckpointRun,
  WalCheckpointer,
  watchCheckpoints,
} from "./db/wal-checkpointer.js";
export { DataDirLocked, lockDataDir } from "./files/data-dir-lock.js";
export { packageDir, packageFile } from "./files/package-file.js";
export { makePrivateDir } from "./files/private-dir.js";
export { BodyBudget, type BodyRead, type BodyRefusal } from "./http/body-budget.js";
export { CancelToken } from "./http/cancel-token.js";
export {
  addressBlockProblem,
  addressMatcher,
  clientNetwork,
  enclosingBlock,
  LOOPBACK_BLOCKS,
  plainAddress,
} from "./http/client-network.js";
export { type KeepAliveFetch, type KeepAliveResponse, makeKeepAliveFetch } from "./http/keep-alive-fetch.js";
export {
  type LeanBodySink,
  type LeanFlow,
  LeanHttpError,
  type LeanHttpPool,
  type LeanRequest,
  type LeanResponse,
  type LeanTarget,
  type LeanTextStream,
  leanTarget,
  makeLeanHttpPool,
  openLeanText,
  type ReadyParts,
} from "./http/lean-http.js";
export { isPublicAddress, NotPublicAddressError, publicAddressLookup } from "./http/public-address.js";
export {
  checkPortFree,
  ListenError,
  REQUEST_TIMEOUT_MS,
  type RunningServer,
  serveHttp,
} from "./http/serve.js";
export { hasSystemErrorCode } from "./http/system-error.js";
export { KeyFileError, keyFileWriteFailure, loadKeyFile, writeKeyFile } from "./keys/key-file.js";
export { describeCause, effectLoggerFor, redactingLoggerLayer } from "./log/effect-logger.js";
export { createLogger, type Logger, type LogLevel, redact } from "./log/logger.js";
export { oneLineText } from "./log/one-line-text.js";
export { PEER_TEXT_MAX, peerText } from "./log/peer-text.js";
export { runMain } from "./main/run-main.js";
export {
  isStartCode,
  START_CODES,
  type StartCode,
  StartFailure,
  startCodeOf,
  withStartCode,
} from "./main/start-codes.js";
export {
  isLoopbackAddress,
  METRICS_CHALLENGE,
  MetricsConfig,
  type MetricsRefusal,
  type MetricsRequest,
  metricsAccess,
} from "./metrics/metrics-access.js";
export {
  Counter,
  Gauge,
  Histogram,
  LATENCY_BUCKETS,
  MetricsRegistry,
  mergeExpositions,
} from "./metrics/registry.js";
export {
  abortableIterator,
  type DeadlineReason,
  MAX_TIMER_MS,
  StreamDeadline,
  type StreamDeadlineOptions,
} from "./stream/stream-deadline.js";
export { installObservability, observabilityLayer } from "./telemetry/observability.js";
export { spanned, spannedFn, spansExported } from "./telemetry/spanned.js";
export { TelemetryConfig, tracingLayer } from "./telemetry/tracing.js";
