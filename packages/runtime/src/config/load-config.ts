import { readFileSync } from "node:fs";
import { extname } from "node:path";
import { Data, Effect } from "effect";
import { parse as parseYaml } from "yaml";
import type { z } from "zod";

/** The configuration could not be read or is invalid; `problems` name each bad field. */
export class ConfigError extends Data.TaggedError("ConfigError")<{
  readonly source: string;
  readonly problems: readonly string[];
}> {
  readonly code = "INVALID_CONFIG";
  override get message(): string {
    return `INVALID_CONFIG: invalid configuration (${this.source}):\n  - ${this.problems.join("\n  - ")}`;
  }
}

/**
 * Reads a JSON or YAML file (chosen by extension; `.json`, `.yaml`, `.yml`), applies environment
 * overrides, and validates the result. Overrides use a prefix and `__` for nesting:
 * `POCKET_NODE__LISTEN__PORT=9000` sets `listen.port`. Values are parsed as JSON when they parse
 * (numbers, booleans, arrays), else kept as strings.
 */
export function loadConfig<S extends z.ZodType>(options: {
  readonly schema: S;
  readonly file?: string | undefined;
  readonly envPrefix: string;
  readonly env?: Record<string, string | undefined>;
  readonly defaults?: Record<string, unknown>;
}): Effect.Effect<z.output<S>, ConfigError> {
  return Effect.gen(function* () {
    const source = options.file ?? "(no file)";
    const base = options.file === undefined ? {} : yield* readConfigFile(options.file);
    const merged = applyEnvOverrides(
      deepMerge(options.defaults ?? {}, base),
      options.envPrefix,
      options.env ?? process.env,
    );
    const parsed = options.schema.safeParse(merged);
    if (!parsed.success) {
      const overrides = envOverrides(options.envPrefix, options.env ?? process.env);
      return yield* new ConfigError({
        source: overrides.length === 0 ? source : `${source} and the environment`,
        problems: parsed.error.issues.map((i) => {
          const where = i.path.length === 0 ? "(root)" : i.path.join(".");
          // The variable that set this field, a field inside it, or (an unknown key) the key itself.
          const unknown = i.code === "unrecognized_keys" ? (i as { keys?: string[] }).keys : undefined;
          const from = overrides.find(({ path }) => {
            if (path.length < i.path.length || !i.path.every((part, k) => String(part) === path[k]))
              return false;
            return unknown === undefined || unknown.includes(path[i.path.length] ?? "");
          });
          const raw = from === undefined ? undefined : (options.env ?? process.env)[from.variable];
          const json = raw === undefined ? undefined : brokenJson(raw);
          const detail = json === undefined ? i.message : `not valid JSON (${json})`;
          return `${where}: ${detail}${from === undefined ? "" : ` (set by ${from.variable})`}`;
        }),
      });
    }
    return parsed.data as z.output<S>;
  });
}

function readConfigFile(file: string): Effect.Effect<Record<string, unknown>, ConfigError> {
  return Effect.try({
    try: () => {
      const text = readFileSync(file, "utf8");
      const value: unknown = extname(file) === ".json" ? JSON.parse(text) : parseYaml(text);
      if (value === null || value === undefined) return {};
      if (typeof value !== "object" || Array.isArray(value)) throw new Error("the file must hold an object");
      return value as Record<string, unknown>;
    },
    catch: (e) => new ConfigError({ source: file, problems: [`cannot read: ${(e as Error).message}`] }),
  });
}

/** The `PREFIX__A__B` variables set in `env`, each with the config path it sets. */
function envOverrides(
  prefix: string,
  env: Record<string, string | undefined>,
): { readonly variable: string; readonly path: readonly string[] }[] {
  const marker = `${prefix}__`;
  return Object.entries(env)
    .filter(([key, raw]) => key.startsWith(marker) && raw !== undefined)
    .map(([variable]) => ({ variable, path: variable.slice(marker.length).split("__").map(camelCase) }));
}

/** Applies `PREFIX__A__B=value` overrides onto a config object (returns a new object). */
export function applyEnvOverrides(
  config: Record<string, unknown>,
  prefix: string,
  env: Record<string, string | undefined>,
): Record<string, unknown> {
  const out = structuredClone(config);
  for (const { variable, path } of envOverrides(prefix, env)) {
    let cursor: Record<string, unknown> = out;
    for (const part of path.slice(0, -1)) {
      const next = cursor[part];
      if (next === null || typeof next !== "object" || Array.isArray(next)) cursor[part] = {};
      cursor = cursor[part] as Record<string, unknown>;
    }
    cursor[path[path.length - 1]!] = parseEnvValue(env[variable] as string);
  }
  return out;
}

function camelCase(segment: string): string {
  return segment.toLowerCase().replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
}

/**
 * Why a value that opens as a JSON object or array (`{`, `[`) does not parse, or `undefined`. Such a
 * value is kept as a string, so the schema would only say "expected object, received string".
 */
function brokenJson(raw: string): string | undefined {
  const start = raw.trimStart()[0];
  if (start !== "{" && start !== "[") return undefined;
  try {
    JSON.parse(raw);
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}

function parseEnvValue(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}

function deepMerge(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...a };
  for (const [k, v] of Object.entries(b)) {
    const prev = out[k];
    out[k] =
      prev !== null &&
      typeof prev === "object" &&
      !Array.isArray(prev) &&
      v !== null &&
      typeof v === "object" &&
      !Array.isArray(v)
        ? deepMerge(prev as Record<string, unknown>, v as Record<string, unknown>)
        : v;
  }
  return out;
}
