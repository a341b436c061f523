import { Effect, Either } from "effect";
import { describe, expect, it } from "vitest";
import { MAX_JSON_DEPTH, parseJsonBody } from "./request-body.js";

/** The body parsed, or the refusal's detail. */
function parsed(text: string): { value: unknown } | { refused: string } {
  const result = Effect.runSync(Effect.either(parseJsonBody(Buffer.from(text, "utf8"))));
  if (Either.isRight(result)) return { value: result.right };
  expect(result.left.code).toBe("INVALID_REQUEST");
  return { refused: result.left.detail ?? "" };
}

const nested = (depth: number, open: string, close: string) =>
  `{"a":${open.repeat(depth - 1)}1${close.repeat(depth - 1)}}`;

describe("JSON request bodies", () => {
  it("accepts nesting up to the limit and refuses one level more, arrays and objects alike", () => {
    expect(parsed(nested(MAX_JSON_DEPTH, "[", "]"))).toHaveProperty("value");
    expect(parsed(nested(MAX_JSON_DEPTH + 1, "[", "]"))).toEqual({
      refused: `the body is refused: nested deeper than ${MAX_JSON_DEPTH} levels`,
    });
    expect(parsed(nested(MAX_JSON_DEPTH, '{"b":', "}"))).toHaveProperty("value");
    expect(parsed(nested(MAX_JSON_DEPTH + 1, '{"b":', "}"))).toHaveProperty("refused");
  });

  it("refuses nesting far past any stack without failing itself", () => {
    const deep = `${"[".repeat(200_000)}${"]".repeat(200_000)}`;
    expect(parsed(deep)).toEqual({
      refused: `the body is refused: nested deeper than ${MAX_JSON_DEPTH} levels`,
    });
  });

  it("refuses numbers that parse to infinity, wherever they sit", () => {
    for (const text of ['{"n":1e999}', '{"a":[1,{"b":[-1e999]}]}', "1e400"]) {
      expect(parsed(text)).toEqual({ refused: "the body is refused: a number is too large to represent" });
    }
  });

  it("reads brackets and quotes inside strings as text", () => {
    const content = `${"[{".repeat(100)}\\"]}${"x".repeat(10_000)}`;
    expect(parsed(`{"messages":[{"role":"user","content":"${content}"}]}`)).toEqual({
      value: { messages: [{ role: "user", content: content.replace('\\"', '"') }] },
    });
  });

  it("refuses text that is not JSON", () => {
    expect(parsed('{"a":')).toEqual({ refused: "the body is not valid JSON" });
  });
});
