import { describe, expect, it } from "vitest";
import type { ServiceOperation } from "../catalog/index.js";
import { parseOpenAIRequest } from "./parse-request.js";

describe("parseOpenAIRequest", () => {
  it("refuses an operation it has no schema for, an object's own property names included, without throwing", () => {
    // A caller that passes a client's text as the operation (a path segment) gets a refusal: the
    // schema table's inherited `toString` or `constructor` was taken for a schema and threw.
    for (const operation of ["toString", "constructor", "__proto__", "hasOwnProperty", "images"]) {
      const parsed = parseOpenAIRequest(operation as ServiceOperation, { model: "m", prompt: "hi" });
      expect(parsed, operation).toMatchObject({ ok: false, error: { code: "UNSUPPORTED_OPERATION" } });
    }
    expect(parseOpenAIRequest("completions", { model: "m", prompt: "hi" }).ok).toBe(true);
  });

  it("answers UNSUPPORTED_OPERATION, never a throw, for an operation that is not text at all", () => {
    // A caller's unchecked value (a parsed JSON field, a router's parameter): a null-prototype
    // object has no string form, a symbol none that a template literal takes.
    const values: unknown[] = [
      Object.create(null),
      Symbol("completions"),
      7,
      null,
      undefined,
      ["completions"],
    ];
    for (const operation of values) {
      const parsed = parseOpenAIRequest(operation as ServiceOperation, { model: "m", prompt: "hi" });
      expect(parsed, String(typeof operation)).toMatchObject({
        ok: false,
        error: { code: "UNSUPPORTED_OPERATION" },
      });
    }
  });
});
