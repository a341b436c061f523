import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ENGINE_MESSAGE_MAX, sanitizeEngineMessage } from "./engine-message.js";

describe("sanitizeEngineMessage", () => {
  it("keeps an engine's reason and drops stack frames, paths, URLs and control characters", () => {
    expect(
      sanitizeEngineMessage(
        "This model's maximum context length is 4096 tokens. However, you requested 5000 tokens.",
      ),
    ).toBe("This model's maximum context length is 4096 tokens. However, you requested 5000 tokens.");
    expect(sanitizeEngineMessage("bad input\n    at run (/srv/engine/main.js:1:2)\n    at x")).toBe(
      "bad input",
    );
    expect(sanitizeEngineMessage('oops\nTraceback (most recent call last):\n  File "/a/b.py"')).toBe("oops");
    expect(sanitizeEngineMessage("cannot open /models/llama/model.gguf")).toBe("cannot open <path>");
    expect(sanitizeEngineMessage("see C:\\Users\\op\\m.gguf and ~/m/x.bin")).toBe("see <path> and <path>");
    expect(sanitizeEngineMessage("engine at http://10.0.0.5:8000/v1 refused")).toBe(
      "engine at <url> refused",
    );
    expect(sanitizeEngineMessage("a\u0000b\u001b[31m\u202ec")).toBe("a b [31m c");
    expect(sanitizeEngineMessage("  \n ")).toBe("(no reason given)");
  });

  it("never returns more than the bound, a newline, a control character or a slash-separated path", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 2000 }), (text) => {
        const out = sanitizeEngineMessage(text);
        expect(out.length).toBeLessThanOrEqual(ENGINE_MESSAGE_MAX);
        for (const char of out) {
          const code = char.codePointAt(0) ?? 0;
          expect(code < 0x20 || (code >= 0x7f && code <= 0x9f) || (code >= 0x202a && code <= 0x202e)).toBe(
            false,
          );
        }
        expect(out).not.toMatch(/(^|\s)\/[^\s/]+\/[^\s/]+/);
      }),
    );
  });
});
