import { readFileSync } from "node:fs";
import { packageFile } from "@pocket-ai/runtime";

/** The shipped training text, resolved from this module so it works from any working directory. */
export const DEV_CORPUS_PATH = packageFile(import.meta.url, "@pocket-ai/node", "data/dev-corpus.txt");

/** Reads a corpus file; lines starting with `#` before the first text are a header, not training data. */
export function loadCorpus(path: string = DEV_CORPUS_PATH): string {
  return stripHeader(readFileSync(path, "utf8"));
}

export function stripHeader(text: string): string {
  const lines = text.replace(/\r\n/g, "\n").split("\n");
  let first = 0;
  while (first < lines.length && (lines[first]!.startsWith("#") || lines[first]!.trim() === "")) first++;
  return lines.slice(first).join("\n");
}

/** Documents are blank-line separated; each is trained as one sequence ending in end-of-sequence. */
export function splitDocuments(corpus: string): string[] {
  return corpus
    .replace(/\r\n/g, "\n")
    .split(/\n[ \t]*\n/)
    .map((doc) => doc.replace(/^\n+|\n+$/g, ""))
    .filter((doc) => doc.trim() !== "");
}

/**
 * FNV-1a over the document text: a stable rank in [0, 1) so that the training subset a lower
 * quality keeps is nested inside every higher quality's subset.
 */
export function documentRank(doc: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < doc.length; i++) h = Math.imul(h ^ doc.charCodeAt(i), 0x01000193);
  h ^= h >>> 15;
  h = Math.imul(h, 0x2c1b3c6d);
  h ^= h >>> 12;
  return (h >>> 0) / 0x1_0000_0000;
}
