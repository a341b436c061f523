/** The longest engine message passed on, in characters (after cleaning). */
export const ENGINE_MESSAGE_MAX = 300;

// C0 and C1 controls, DEL, and the Unicode bidirectional overrides and isolates that can disguise text.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point.
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;
// A stack frame or a traceback line: `at f (file:1:2)`, `File "x.py", line 3`, `Traceback (...)`.
const STACK_LINE = /^\s*(at\s|File\s"|Traceback\b|\.\.\.\s*\d+\s+more)/;
// URLs (an engine's own address, an internal host) and file URLs.
const URL_LIKE = /\b[a-z][a-z0-9+.-]*:\/\/[^\s"'`<>]*/gi;
// Absolute or home-relative file paths: POSIX `/a/b`, `~/a`, Windows `C:\\a\\b`.
const PATH =
  /(?:(?<!\w)[A-Za-z]:[\\/]|~[\\/]|(?<![\w.:/])\/)(?:[^\s"'`<>()[\]{},;:]+[\\/])+[^\s"'`<>()[\]{},;:]*/g;

/**
 * An inference engine's error message made fit to pass to a client who does not run the engine:
 * stack frames dropped, control and bidirectional-override characters removed, URLs replaced by
 * `<url>` and file paths by `<path>`, whitespace collapsed, and the result cut to `max` characters. Engines put useful
 * reasons in their 4xx bodies (context too long, token out of range), and node runners' file
 * layouts and stack traces in their 5xx ones; only the reason is meant for the caller.
 *
 * @example
 * ```ts
 * sanitizeEngineMessage("context too long: 5000 > 4096\n    at run (/srv/engine/main.js:1:2)");
 * // "context too long: 5000 > 4096"
 * sanitizeEngineMessage("cannot open /models/llama-2-13b.gguf"); // "cannot open <path>"
 * ```
 */
export function sanitizeEngineMessage(text: string, max: number = ENGINE_MESSAGE_MAX): string {
  const lines = text.split(/\r\n|\r|\n/);
  const kept: string[] = [];
  for (const line of lines) {
    if (STACK_LINE.test(line)) break;
    kept.push(line);
  }
  const cleaned = kept
    .join(" ")
    .replace(CONTROL, " ")
    .replace(URL_LIKE, "<url>")
    .replace(PATH, "<path>")
    .replace(/\s+/g, " ")
    .trim();
  if (cleaned === "") return "(no reason given)";
  const limit = Math.max(1, Math.floor(max));
  return cleaned.length > limit ? `${cleaned.slice(0, limit - 1)}…` : cleaned;
}
