import { describe, expect, it } from "vitest";
import { textTable } from "./text-table.js";

describe("textTable", () => {
  it("keeps each row on one line whatever a name holds: line breaks, tabs and terminal escapes are written as escapes", () => {
    const table = textTable(
      [
        { id: "app_1", name: 'Ac,me "x"\nline2' },
        { id: "app_2", name: "tab\there\r\u001b[31mred\u2028" },
      ],
      ["id", "name"],
    );
    const lines = table.trimEnd().split("\n");
    expect(lines).toHaveLength(4);
    expect(lines[2]).toBe('app_1  Ac,me "x"\\nline2');
    expect(lines[3]).toBe("app_2  tab\\there\\r\\u001b[31mred\\u2028");
    // The columns still line up: the header is as wide as the widest escaped cell.
    expect(lines[1]).toBe(`-----  ${"-".repeat(lines[3]!.length - 7)}`);
  });
});
