/**
 * One CSV field (RFC 4180: quoted when it holds a comma, a quote or a line break, inner quotes
 * doubled; also when it holds a semicolon, which spreadsheets in some locales split fields on). A
 * text starting with =, +, -, @, a tab or a carriage return is prefixed with ' so a spreadsheet
 * never runs it as a formula; numbers are written as they are.
 */
export function csvField(value: string | number | null): string {
  let text = value === null ? "" : String(value);
  if (typeof value === "string" && /^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",;\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}
