import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, extname, join, resolve } from "node:path";
import { packageFile } from "@pocket-ai/runtime";
import { Effect } from "effect";
import { parse as parseYaml } from "yaml";
import { TaskFormatError } from "../errors.js";
import { type Doc, type Task, TaskDefinition } from "./task-definition.js";

/** The starter suite shipped with the evaluator (original items, MIT; see `starter/LICENSE.md`). */
export const STARTER_SUITE_DIR = packageFile(import.meta.url, "@pocket-ai/evaluator", "src/tasks/starter");

/** Reads JSONL (one object per line) or a JSON array; `problems` name the bad lines. */
export function parseDataset(text: string, source: string): Doc[] {
  const trimmed = text.trim();
  if (trimmed.startsWith("[")) {
    const rows: unknown = JSON.parse(trimmed);
    if (!Array.isArray(rows)) throw new TaskFormatError({ source, problems: ["expected a JSON array"] });
    return rows as Doc[];
  }
  const problems: string[] = [];
  const docs: Doc[] = [];
  trimmed.split("\n").forEach((line, i) => {
    if (line.trim() === "") return;
    try {
      const value: unknown = JSON.parse(line);
      if (value === null || typeof value !== "object" || Array.isArray(value))
        problems.push(`line ${i + 1}: not an object`);
      else docs.push(value as Doc);
    } catch (e) {
      problems.push(`line ${i + 1}: ${(e as Error).message}`);
    }
  });
  if (problems.length > 0) throw new TaskFormatError({ source, problems });
  return docs;
}

/** The stable id of a document: its `id` field, else its position. */
export const docId = (doc: Doc, index: number): string =>
  typeof doc.id === "string" || typeof doc.id === "number" ? String(doc.id) : String(index);

function readTaskSync(file: string): Task {
  const raw: unknown =
    extname(file) === ".json"
      ? JSON.parse(readFileSync(file, "utf8"))
      : parseYaml(readFileSync(file, "utf8"));
  const parsed = TaskDefinition.safeParse(raw);
  if (!parsed.success) {
    throw new TaskFormatError({
      source: file,
      problems: parsed.error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`),
    });
  }
  const dataFile = resolve(dirname(file), parsed.data.dataset_path);
  const docs = parseDataset(readFileSync(dataFile, "utf8"), dataFile).map((doc, i) => ({
    id: docId(doc, i),
    doc,
  }));
  if (docs.length === 0) throw new TaskFormatError({ source: dataFile, problems: ["the dataset is empty"] });
  return { definition: parsed.data, docs, source: file };
}

/** Loads one task file (YAML or JSON) and its dataset. */
export function loadTask(file: string): Effect.Effect<Task, TaskFormatError> {
  return Effect.try({
    try: () => readTaskSync(file),
    catch: (e) =>
      e instanceof TaskFormatError
        ? e
        : new TaskFormatError({ source: file, problems: [(e as Error).message] }),
  });
}

/** Every `*.yaml`, `*.yml` and `*.json` task file in a folder, sorted by name. */
export function taskFilesIn(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => /\.(ya?ml|json)$/.test(f))
    .sort()
    .map((f) => join(dir, f));
}

/**
 * Loads the configured task files, or the starter suite when none are configured. An entry that
 * is a folder is an item pool: every task file in it (an operator's private pool lives outside the
 * repository, so no node can have its answer key; the shipped starter items are marked `public`).
 */
export function loadSuite(files: readonly string[]): Effect.Effect<Task[], TaskFormatError> {
  return Effect.try({
    try: () =>
      (files.length === 0 ? [STARTER_SUITE_DIR] : files).flatMap((f) => (isFolder(f) ? taskFilesIn(f) : [f])),
    catch: (e) => new TaskFormatError({ source: files.join(", "), problems: [(e as Error).message] }),
  }).pipe(Effect.flatMap((list) => Effect.forEach(list, loadTask)));
}

const isFolder = (path: string): boolean => {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
};
