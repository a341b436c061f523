/**
 * Structured logs as JSON lines on stderr. Prompts and outputs are private: fields whose names
 * suggest content or secrets are replaced before anything is written, so a careless call site
 * cannot leak them.
 */
export type LogLevel = "debug" | "info" | "warn" | "error";

const order: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };
const redactedField =
  /^(prompt|messages|content|input|output|text|completion|choices|image|mask|b64_json|payload|data|privatekey|private_key|secret|token|apikey|api_key|authorization|password|key)$/i;

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Logger;
}

/** Replaces private or secret fields, at any depth, with `"[redacted]"`. */
export function redact(value: unknown, depth = 0): unknown {
  if (depth > 6 || value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value))
    out[k] = redactedField.test(k) ? "[redacted]" : redact(v, depth + 1);
  return out;
}

/**
 * Characters `JSON.stringify` leaves as they are that a terminal or log viewer may act on rather
 * than show: DEL and the C1 controls (U+007F–U+009F, an 8-bit escape among them), the line and
 * paragraph separators (a new line to some viewers) and the bidirectional embeddings, overrides
 * and isolates. A field holds text from outside (a node's error detail, a request's header).
 */
const ACTED_ON = /[\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/** A JSON line with {@link ACTED_ON} written as `\uXXXX` escapes: the same JSON, one plain line. */
function plainLine(json: string): string {
  return json.replace(ACTED_ON, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/** A JSON-lines logger for one app; `write` defaults to stderr. */
export function createLogger(options: {
  readonly app: string;
  readonly level?: LogLevel;
  readonly write?: (line: string) => void;
  readonly base?: Record<string, unknown>;
}): Logger {
  const min = order[options.level ?? "info"];
  const write = options.write ?? ((line: string) => process.stderr.write(`${line}\n`));
  const base = options.base ?? {};
  const emit = (level: LogLevel, msg: string, fields?: Record<string, unknown>) => {
    if (order[level] < min) return;
    const record = { t: new Date().toISOString(), level, app: options.app, msg, ...base, ...(fields ?? {}) };
    write(plainLine(JSON.stringify(redact(record))));
  };
  return {
    debug: (m, f) => emit("debug", m, f),
    info: (m, f) => emit("info", m, f),
    warn: (m, f) => emit("warn", m, f),
    error: (m, f) => emit("error", m, f),
    child: (fields) => createLogger({ ...options, base: { ...base, ...fields } }),
  };
}
