import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { formatSseEvent, parseSseStream, SSE_DONE, SseStreamParser } from "./sse.js";

/** Splits text at the given cut points (sorted, deduplicated, inside the text). */
function splitAt(text: string, cuts: number[]): string[] {
  const points = [...new Set(cuts.map((c) => c % (text.length + 1)))].sort((a, b) => a - b);
  const chunks: string[] = [];
  let last = 0;
  for (const point of points) {
    chunks.push(text.slice(last, point));
    last = point;
  }
  chunks.push(text.slice(last));
  return chunks;
}

describe("formatSseEvent", () => {
  it("writes one data line and a blank line", () => {
    expect(formatSseEvent({ a: "x\ny" })).toBe('data: {"a":"x\\ny"}\n\n');
    expect(SSE_DONE).toBe("data: [DONE]\n\n");
  });
});

describe("SseStreamParser", () => {
  it("handles comments, other fields, multi-line data, CRLF and CR line ends", () => {
    const stream =
      ": keep-alive\r\nevent: message\r\nid: 4\r\ndata: a\r\ndata:b\r\n\r\ndata: c\r\rretry: 10\n\n" +
      SSE_DONE;
    expect(parseSseStream([stream])).toEqual({ events: ["a\nb", "c"], done: true });
  });

  it("treats a CR at a chunk end followed by LF as one line end", () => {
    expect(parseSseStream(["data: 1\r", "\n", "\r", "\n", "data: 2\r\n\r\n"]).events).toEqual(["1", "2"]);
  });

  it("ignores everything after [DONE] and drops an unterminated final event", () => {
    expect(parseSseStream([`${SSE_DONE}data: late\n\n`])).toEqual({ events: [], done: true });
    expect(parseSseStream(["data: 1\n\ndata: cut"])).toEqual({ events: ["1"], done: false });
  });

  it("returns events as soon as they are complete", () => {
    const parser = new SseStreamParser();
    expect(parser.push('data: {"a":')).toEqual([]);
    expect(parser.push("1}\n")).toEqual([]);
    expect(parser.push("\ndata: 2\n\n")).toEqual(['{"a":1}', "2"]);
    expect(parser.done).toBe(false);
  });

  it("property: any split of a stream of formatted events yields the same events", () => {
    const payload = fc.oneof(
      fc.string(),
      fc.record({ text: fc.string(), index: fc.nat(), finish: fc.constantFrom(null, "stop", "length") }),
    );
    fc.assert(
      fc.property(
        fc.array(payload, { maxLength: 12 }),
        fc.array(fc.nat(), { maxLength: 30 }),
        fc.constantFrom("\n", "\r\n", "\r"),
        fc.boolean(),
        (payloads, cuts, newline, withComments) => {
          const body = payloads
            .map((p) => (withComments ? ": ping\n" : "") + formatSseEvent(p))
            .join("")
            .concat(SSE_DONE)
            .replaceAll("\n", newline);
          const { events, done } = parseSseStream(splitAt(body, cuts));
          expect(done).toBe(true);
          expect(events.map((e) => JSON.parse(e) as unknown)).toEqual(payloads);
        },
      ),
    );
  });
});
