import type { Doc } from "./task-definition.js";

const PLACEHOLDER = /\{\{\s*([A-Za-z_][\w.]*(?:\[\d+\])*(?:\.[A-Za-z_]\w*(?:\[\d+\])*)*)\s*\}\}/g;

/** Looks up `a.b[2].c` in a document; `undefined` when any step is missing. */
export function lookup(doc: Doc, path: string): unknown {
  const steps = path.match(/[A-Za-z_]\w*|\[\d+\]/g) ?? [];
  let value: unknown = doc;
  for (const step of steps) {
    if (value === null || typeof value !== "object") return undefined;
    const key = step.startsWith("[") ? Number(step.slice(1, -1)) : step;
    value = (value as Record<string | number, unknown>)[key];
  }
  return value;
}

/** Renders `{{ field }}` placeholders; a missing field is an error, so a typo never renders as "". */
export function render(template: string, doc: Doc): string {
  return template.replace(PLACEHOLDER, (_m, path: string) => {
    const value = lookup(doc, path);
    if (value === undefined || value === null) throw new Error(`template field '${path}' is missing`);
    return typeof value === "string" ? value : JSON.stringify(value);
  });
}

/** A template that is exactly one placeholder yields the raw value (a list, a number). */
export function renderValue(template: string, doc: Doc): unknown {
  const whole = template.trim().match(/^\{\{\s*([^}]+?)\s*\}\}$/);
  if (whole?.[1] !== undefined) {
    const value = lookup(doc, whole[1]);
    if (value === undefined) throw new Error(`template field '${whole[1]}' is missing`);
    return value;
  }
  return render(template, doc);
}
