import { closeSync, openSync, readSync, statSync } from "node:fs";
import { LlamaEngineError } from "./errors.js";

/** Smallest possible GGUF file: magic, version, tensor count and metadata count. */
const HEADER_BYTES = 24;

/**
 * Checks, without loading anything, that `path` is a readable GGUF file of a version llama.cpp
 * reads (2 or 3). Synchronous so that a node can refuse a bad configuration at startup.
 */
export function checkGgufFile(path: string): void {
  let size: number;
  try {
    const stat = statSync(path);
    if (!stat.isFile()) throw new Error("not a file");
    size = stat.size;
  } catch {
    throw new LlamaEngineError("GGUF_MODEL_NOT_FOUND", "no model file at the configured modelPath");
  }
  if (size < HEADER_BYTES)
    throw new LlamaEngineError("GGUF_MODEL_INVALID", "the model file is too short to be GGUF");
  const header = Buffer.alloc(HEADER_BYTES);
  let fd: number | undefined;
  try {
    fd = openSync(path, "r");
    readSync(fd, header, 0, HEADER_BYTES, 0);
  } catch {
    throw new LlamaEngineError("GGUF_MODEL_NOT_FOUND", "the model file cannot be read");
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
  if (header.toString("latin1", 0, 4) !== "GGUF") {
    throw new LlamaEngineError("GGUF_MODEL_INVALID", "the model file does not start with the GGUF magic");
  }
  const version = header.readUInt32LE(4);
  if (version !== 2 && version !== 3) {
    throw new LlamaEngineError("GGUF_MODEL_INVALID", `GGUF version ${version} is not supported (2 or 3)`);
  }
}
