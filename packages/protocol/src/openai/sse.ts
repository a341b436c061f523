/**
 * The event that ends an OpenAI-style stream.
 *
 * @example
 * ```ts
 * response.write(SSE_DONE); // "data: [DONE]\n\n"
 * ```
 */
export const SSE_DONE = "data: [DONE]\n\n";

/**
 * One server-sent event carrying `data` as JSON: `"data: {...}\n\n"`. JSON text has no raw line
 * breaks, so the event is always a single `data:` line.
 *
 * @example
 * ```ts
 * formatSseEvent({ id: "cmpl-1", choices: [] }); // 'data: {"id":"cmpl-1","choices":[]}\n\n'
 * ```
 */
export function formatSseEvent(data: unknown): string {
  return `data: ${JSON.stringify(data)}\n\n`;
}

/**
 * Incremental parser of a server-sent-event stream, fed text chunks split anywhere (inside a line,
 * between `\r` and `\n`). Returns the `data` of each complete event: several `data:` lines of one
 * event are joined with `\n`; comments (`: keep-alive`) and other fields (`event`, `id`, `retry`)
 * are skipped. The `[DONE]` sentinel is not returned: it sets {@link SseStreamParser.done}, and
 * anything after it is ignored. An event cut off by the end of the stream is dropped, so a stream
 * that ends without `[DONE]` is recognisable as interrupted (`done === false`).
 *
 * @example
 * ```ts
 * const parser = new SseStreamParser();
 * parser.push('data: {"a":'); // []
 * parser.push('1}\n\ndata: [DONE]\n\n'); // ['{"a":1}']
 * parser.done; // true
 * ```
 */
export class SseStreamParser {
  #line = "";
  #data: string[] = [];
  #afterCr = false;
  #done = false;

  /** True once the `[DONE]` event has been read. */
  get done(): boolean {
    return this.#done;
  }

  /** Feeds a chunk; returns the data of every event it completed, in order. */
  push(chunk: string): string[] {
    const events: string[] = [];
    if (chunk === "") return events;
    let start = this.#afterCr && chunk.startsWith("\n") ? 1 : 0;
    this.#afterCr = false;
    for (let i = start; i < chunk.length; i++) {
      const code = chunk.charCodeAt(i);
      if (code !== 10 && code !== 13) continue;
      this.#line += chunk.slice(start, i);
      this.#endLine(events);
      if (code === 13) {
        if (i + 1 === chunk.length) this.#afterCr = true;
        else if (chunk.charCodeAt(i + 1) === 10) i++;
      }
      start = i + 1;
    }
    this.#line += chunk.slice(start);
    return events;
  }

  /** Ends the stream. A trailing event without its blank line is dropped, as the SSE spec says. */
  end(): string[] {
    this.#line = "";
    this.#data = [];
    return [];
  }

  #endLine(events: string[]): void {
    const line = this.#line;
    this.#line = "";
    if (this.#done) return;
    if (line === "") {
      if (this.#data.length > 0) {
        const data = this.#data.join("\n");
        this.#data = [];
        if (data === "[DONE]") this.#done = true;
        else events.push(data);
      }
      return;
    }
    if (line.startsWith(":")) return;
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    if (field !== "data") return;
    let value = colon < 0 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    this.#data.push(value);
  }
}

/**
 * Parses a whole stream given as chunks; a convenience over {@link SseStreamParser}.
 *
 * @example
 * ```ts
 * parseSseStream(["data: 1\n", "\ndata: 2\n\n", SSE_DONE]); // { events: ["1", "2"], done: true }
 * ```
 */
export function parseSseStream(chunks: Iterable<string>): { events: string[]; done: boolean } {
  const parser = new SseStreamParser();
  const events: string[] = [];
  for (const chunk of chunks) events.push(...parser.push(chunk));
  events.push(...parser.end());
  return { events, done: parser.done };
}
