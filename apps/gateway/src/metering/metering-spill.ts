import { randomBytes } from "node:crypto";
import {
  closeSync,
  fsyncSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { StreamCutReceipt } from "@pocket-ai/protocol";
import { makePrivateDir } from "@pocket-ai/runtime";
import { z } from "zod";
import type { RelayRow } from "../db/relay-rows.js";

/**
 * Metering rows the gateway could not write when it stopped (its database down, a full disk, a
 * locked file), kept in its data folder and written at its next start. One file per stop, one
 * JSON row per line. A row holds what `relays` holds — counts, prices, hashes, addresses, a cut
 * stream's signed receipt — never prompt or output text, so the file holds none either; it is
 * still the ledger's, its owner's only (0600 in a 0700 folder).
 */
const SPILL_FILE = /^metering-spill-[0-9a-f-]+\.jsonl$/;

const count = z.int().nonnegative();
const text = z.string().max(1024);

/**
 * A spilled line, checked as it is read back: exactly the fields of a {@link RelayRow}, with their
 * types (money and counts integers), so a line edited or cut short is never written to the ledger.
 */
const SpilledRow = z.strictObject({
  requestHash: text.min(1),
  applicationId: text,
  keyId: text,
  serviceId: text,
  tier: text,
  soldServiceId: text.optional(),
  soldTier: text.optional(),
  operation: text,
  nodeAddress: text.nullable().optional(),
  sessionId: text,
  sessionNumber: z.int(),
  outcome: z.enum(["ok", "error", "interrupted"]),
  errorCode: text.nullable().optional(),
  leafHash: text.nullable().optional(),
  computeUnits: count.optional(),
  inputTokens: count.optional(),
  outputTokens: count.optional(),
  images: count.optional(),
  priceMicroUsd: count.optional(),
  attempts: count.optional(),
  latencyMs: count.optional(),
  ttftMs: count.nullable().optional(),
  stream: z.boolean().optional(),
  createdAt: count,
  cutReceipt: z.strictObject({ receipt: StreamCutReceipt, expiresAt: count }).optional(),
});

// A column added to `relays` (so to RelayRow) must be added above, or its spilled rows would be
// refused as they are read back: this line stops the build until it is.
const everyFieldKept: [Exclude<keyof RelayRow, keyof z.infer<typeof SpilledRow>>] extends [never]
  ? true
  : never = true;
void everyFieldKept;

/** Writes `rows` to a new spill file in `dir` (created 0700), the file 0600, synced to disk; returns its path. */
export function writeSpill(dir: string, rows: readonly RelayRow[], now: number): string {
  makePrivateDir(dir);
  // A name of its own per stop: never appended to (a line cut short by a crash would spoil the next).
  const file = join(dir, `metering-spill-${now}-${randomBytes(4).toString("hex")}.jsonl`);
  const fd = openSync(file, "wx", 0o600);
  try {
    writeFileSync(fd, rows.map((row) => `${JSON.stringify(row)}\n`).join(""));
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  syncDir(dir);
  return file;
}

/** A spill file read back: its valid rows, and how many of its lines were not rows. */
export interface SpillFile {
  readonly file: string;
  readonly rows: readonly RelayRow[];
  readonly invalidLines: number;
}

/** The spill files in `dir`, oldest first (none when the folder does not exist). */
export function readSpills(dir: string): SpillFile[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw e;
  }
  return names
    .filter((name) => SPILL_FILE.test(name))
    .sort()
    .map((name) => parseSpill(join(dir, name)));
}

function parseSpill(file: string): SpillFile {
  const rows: RelayRow[] = [];
  let invalidLines = 0;
  for (const line of readFileSync(file, "utf8").split("\n")) {
    if (line.trim() === "") continue;
    const parsed = SpilledRow.safeParse(parseJson(line));
    if (parsed.success) rows.push(parsed.data);
    else invalidLines++;
  }
  return { file, rows, invalidLines };
}

function parseJson(line: string): unknown {
  try {
    return JSON.parse(line);
  } catch {
    return undefined;
  }
}

/**
 * Done with a spill file whose rows are in the ledger: removed, or, when some of its lines were
 * not rows, kept beside as `<file>.bad` (never read again) so that nothing is thrown away unseen.
 * Returns the path it was kept at, if kept.
 */
export function retireSpill(spill: SpillFile): string | undefined {
  if (spill.invalidLines === 0) {
    rmSync(spill.file, { force: true });
    return undefined;
  }
  const kept = `${spill.file}.bad`;
  try {
    renameSync(spill.file, kept);
  } catch (e) {
    // Replicas on PostgreSQL may share a folder: one starting beside this one kept it first.
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
  }
  return kept;
}

/** Makes a new file's name in `dir` durable too; where a folder cannot be synced (Windows), the file's own sync is all there is. */
function syncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, "r");
    fsyncSync(fd);
  } catch {
    // EISDIR / EPERM on platforms that do not sync folders.
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
