import {
  Cause,
  Effect,
  Logger as EffectLogger,
  LogLevel as EffectLogLevel,
  FiberRef,
  HashMap,
  HashSet,
  Layer,
  List,
} from "effect";
import type { Logger, LogLevel } from "./logger.js";

/** Effect's log levels on the app logger's four: trace and debug are debug, fatal is error. */
function levelOf(level: EffectLogLevel.LogLevel): LogLevel | undefined {
  if (level._tag === "None") return undefined;
  if (EffectLogLevel.lessThan(level, EffectLogLevel.Info)) return "debug";
  if (EffectLogLevel.lessThan(level, EffectLogLevel.Warning)) return "info";
  if (EffectLogLevel.lessThan(level, EffectLogLevel.Error)) return "warn";
  return "error";
}

/**
 * A failure's message, never its stack: logs leave the process, file paths must not. A failure
 * whose message is what its callers read (kept to its code's generic words, as a database failure
 * is) carries the operator's words apart, as `logText`: the log takes those.
 */
export function describeCause(cause: Cause.Cause<unknown>): string | undefined {
  if (Cause.isEmpty(cause)) return undefined;
  if (Cause.isInterruptedOnly(cause)) return "interrupted";
  const error = Cause.squash(cause);
  const logText = (error as { logText?: unknown } | null)?.logText;
  if (error instanceof Error && typeof logText === "string") return `${error.name}: ${logText}`;
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  if (typeof error === "object" && error !== null && "message" in error) return String(error.message);
  return String(error);
}

/**
 * Effect's logger on top of an app's redacting {@link Logger}: `Effect.log*` calls write the same
 * JSON lines as the app's own calls, with annotations as fields (redacted by name like any field),
 * log spans as `spans`, and a failure's message (never its stack) as `error`.
 */
export function effectLoggerFor(logger: Logger): EffectLogger.Logger<unknown, void> {
  return EffectLogger.make(({ logLevel, message, cause, annotations, spans }) => {
    const level = levelOf(logLevel);
    if (level === undefined) return;
    const parts = Array.isArray(message) ? message : [message];
    const text = parts.filter((p) => typeof p === "string").join(" ");
    const fields: Record<string, unknown> = {};
    for (const [key, value] of HashMap.toEntries(annotations)) fields[key] = value;
    const extra = parts.filter((p) => typeof p !== "string");
    if (extra.length > 0) fields.details = extra.length === 1 ? extra[0] : extra;
    const error = describeCause(cause);
    if (error !== undefined) fields.error = error;
    const spanNames = List.toArray(spans).map((s) => s.label);
    if (spanNames.length > 0) fields.spans = spanNames;
    logger[level](text, fields);
  });
}

/**
 * A layer that sends every `Effect.log*` call through the app's redacting logger, and only
 * through it: Effect's default console logger, or a logger an outer layer installed (`runMain`'s
 * before the app's own), would print each line again. Debug lines pass (the app logger filters
 * levels).
 */
export function redactingLoggerLayer(logger: Logger): Layer.Layer<never> {
  return Layer.merge(
    Layer.scopedDiscard(
      Effect.locallyScopedWith(FiberRef.currentLoggers, () => HashSet.make(effectLoggerFor(logger))),
    ),
    EffectLogger.minimumLogLevel(EffectLogLevel.Debug),
  );
}
