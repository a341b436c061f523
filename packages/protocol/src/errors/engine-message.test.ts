import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ENGINE_MESSAGE_MAX, sanitizeEngineMessage } from "./engine-message.js";

/**
 * Any text up to 2 000 code points, control characters (C0, C1, bidi overrides), slashes and
 * whitespace well represented, the rest of Unicode too (built from integers: fast-check's own
 * full-Unicode string takes seconds to set up, enough to run into the test timeout on a loaded
 * machine).
 */
const anyText = fc
  .array(
    fc.oneof(
      fc.integer({ min: 0, max: 0x7f }),
      fc.integer({ min: 0x80, max: 0x9f }),
      fc.integer({ min: 0x2000, max: 0x206f }),
      fc.integer({ min: 0xa0, max: 0xd7ff }),
      fc.integer({ min: 0xe000, max: 0x10ffff }),
    ),
    { maxLength: 2000 },
  )
  .map((codePoints) => String.fromCodePoint(...codePoints));

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
      fc.property(anyText, (text) => {
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
