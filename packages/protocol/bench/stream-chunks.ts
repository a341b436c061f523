/**
 * The per-chunk cost of a signed stream, in one process: a node signing each SSE chunk
 * (`RelayStreamSigner`) and a gateway verifying it (`RelayStreamVerifier`), for streams of 45
 * OpenAI-shaped chunks, a fresh signer and verifier per stream as in the apps. Prints one JSON line
 * (µs per chunk), so runs of two versions of the package can be put side by side.
 *
 *   pnpm exec tsx bench/stream-chunks.ts [--ms 3000]
 */
import { randomBytes } from "node:crypto";
import * as protocol from "../src/index.js";

const { generateKeyPair, RelayStreamSigner, RelayStreamVerifier } = protocol;

const ms = Number(process.argv[process.argv.indexOf("--ms") + 1] || 3000);
const node = generateKeyPair();
const CHUNKS = 45;
const chunk = (i: number) => ({
  id: "chatcmpl-9d1f3c",
  object: "chat.completion.chunk",
  created: 1_764_000_000,
  model: "llama-2-13b",
  choices: [{ index: 0, delta: { content: `token${i} ` }, finish_reason: null, logprobs: null }],
});
const final = { usage: { inputTokens: 12, outputTokens: CHUNKS }, computeUnits: 57, outcome: "ok" as const };

function stream(): unknown[] {
  const signer = new RelayStreamSigner(randomBytes(32).toString("hex"), node);
  const out: unknown[] = [];
  for (let i = 0; i < CHUNKS - 1; i++) out.push(signer.next(chunk(i)));
  out.push(signer.finish(chunk(CHUNKS - 1), final));
  return out;
}

function measure(op: () => number): number {
  for (let i = 0; i < 5; i++) op();
  let chunks = 0;
  const start = performance.now();
  while (performance.now() - start < ms) chunks += op();
  return ((performance.now() - start) * 1000) / chunks;
}

const signUs = measure(() => stream().length);
const streams = Array.from({ length: 20 }, stream);
let next = 0;
const verifyUs = measure(() => {
  const chunks = streams[next++ % streams.length] as { requestHash: string }[];
  const verifier = new RelayStreamVerifier({
    publicKey: node.publicKeyHex,
    requestHash: chunks[0]!.requestHash,
  });
  for (const c of chunks) if (!verifier.accept(c).ok) throw new Error("a chunk did not verify");
  return chunks.length;
});
// Versions before the native binding have no `secp256k1Implementation` and use WebAssembly.
const which = (protocol as { secp256k1Implementation?: () => string }).secp256k1Implementation;
const implementation = which === undefined ? "wasm (before)" : which();
console.log(JSON.stringify({ implementation, signUsPerChunk: signUs, verifyUsPerChunk: verifyUs }));
