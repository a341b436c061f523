/**
 * Text from outside (a node's declared model, a customer's key name) as a cell on one line of a
 * terminal: every character a terminal acts on rather than shows is written as an escape — line
 * breaks and tabs as `\n`, `\r`, `\t`; the other C0 and C1 controls (a terminal escape among them),
 * DEL, the line and paragraph separators and the bidirectional embeddings, overrides and isolates
 * as `\uXXXX`. What is left is printable and reads left to right as it is stored.
 */
export function oneLineText(text: string): string {
  return text.replace(ACTED_ON, (c) =>
    c === "\n"
      ? "\\n"
      : c === "\r"
        ? "\\r"
        : c === "\t"
          ? "\\t"
          : `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it finds.
const ACTED_ON = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
