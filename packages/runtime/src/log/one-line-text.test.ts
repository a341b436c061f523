import { describe, expect, it } from "vitest";
import { oneLineText } from "./one-line-text.js";

describe("oneLineText", () => {
  it("writes what a terminal acts on as escapes, and keeps printable text as it is", () => {
    expect(oneLineText("a\nb\r\tc")).toBe("a\\nb\\r\\tc");
    expect(oneLineText("\u001b[2J\u009b2J\u007f")).toBe("\\u001b[2J\\u009b2J\\u007f");
    expect(oneLineText("\u202egnp.exe\u2066x\u2069\u2028")).toBe("\\u202egnp.exe\\u2066x\\u2069\\u2028");
    expect(oneLineText("llama-2-13b <b>Q4_K_M</b> é 漢字 🦙")).toBe("llama-2-13b <b>Q4_K_M</b> é 漢字 🦙");
  });
});
