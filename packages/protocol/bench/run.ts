/**
 * Benchmarks of the protocol's hot paths, each against a baseline measured in the same run:
 * claim tree build and proof verification (against the same tree hashed with node:crypto's
 * SHA-256; the build is the median of 3 runs), and secp256k1 sign/verify (against node:crypto's own secp256k1). Prints a markdown
 * table and writes `bench/results/latest.json`. Not a test: nothing here fails on a slow machine.
 *
 *   pnpm exec tsx bench/run.ts [--quick]
 */
import { generateKeyPairSync, sign as nodeSign, verify as nodeVerify, randomBytes } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  buildClaimTree,
  type ClaimLeaf,
  claimRoot,
  proofLeafIndex,
  proveClaimLeaf,
  verifyClaimProof,
} from "../src/claims/index.js";
import {
  generatePrivateKey,
  publicKeyFromPrivateKey,
  secp256k1Implementation,
  signDigest,
  verifyDigest,
} from "../src/crypto/index.js";
import { wasmBackend } from "../src/crypto/secp256k1-backend.js";
import { bytesToHex, sha256 } from "../src/encoding/index.js";
import { nodeCryptoRoot, nodeCryptoVerify } from "./baseline-claim-tree.js";

const quick = process.argv.includes("--quick");
const LEAVES = quick ? 100_000 : 1_000_000;
const MIN_MS = quick ? 300 : 1_500;

interface Row {
  operation: string;
  unit: string;
  ours: number;
  baselineName: string;
  baseline: number;
  goal?: number;
}

/** Runs `op` in batches until `MIN_MS` has passed; returns operations per second. */
function rate(op: () => void, batch = 100): number {
  for (let i = 0; i < batch; i++) op(); // warm-up
  let n = 0;
  const start = performance.now();
  let elapsed = 0;
  while (elapsed < MIN_MS) {
    for (let i = 0; i < batch; i++) op();
    n += batch;
    elapsed = performance.now() - start;
  }
  return n / (elapsed / 1000);
}

function timeOnce(op: () => void): number {
  const start = performance.now();
  op();
  return (performance.now() - start) / 1000;
}

const rows: Row[] = [];

// ── Claim tree ───────────────────────────────────────────────────────────────────────────────
const hashes = randomBytes(LEAVES * 32);
const leaves: { hash: Uint8Array; computeUnits: number }[] = Array.from({ length: LEAVES }, (_, i) => ({
  hash: hashes.subarray(i * 32, i * 32 + 32),
  computeUnits: 1 + (i % 4600),
}));
buildClaimTree(leaves.slice(0, 10_000) as ClaimLeaf[]); // warm-up
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const buildSeconds = median([0, 1, 2].map(() => timeOnce(() => buildClaimTree(leaves))));
const tree = buildClaimTree(leaves);
const root = claimRoot(tree);
const baselineSeconds = timeOnce(() => {
  if (nodeCryptoRoot(leaves).toString("hex") !== root.root) throw new Error("baseline tree disagrees");
});
rows.push({
  operation: `claim tree build (${LEAVES.toLocaleString("en-US")} relays)`,
  unit: "leaves/s",
  ours: LEAVES / buildSeconds,
  baselineName: "same tree, node:crypto sha256",
  baseline: LEAVES / baselineSeconds,
  goal: 200_000,
});

// ── Proof verification ───────────────────────────────────────────────────────────────────────
const proofs = Array.from({ length: 1024 }, (_, i) => {
  const index = proofLeafIndex(bytesToHex(sha256(`seed-${i}`)), root);
  return { index, proof: proveClaimLeaf(tree, index) };
});
let p = 0;
const verifyRate = rate(() => {
  const { index, proof } = proofs[p++ & 1023]!;
  if (!verifyClaimProof(root, proof, index).ok) throw new Error("proof failed");
});
const baselineVerifyRate = rate(() => {
  if (!nodeCryptoVerify(proofs[p++ & 1023]!.proof, root.root)) throw new Error("baseline proof failed");
});
rows.push({
  operation: `claim proof verify (depth ${tree.digests.length - 1})`,
  unit: "proofs/s",
  ours: verifyRate,
  baselineName: "same check, node:crypto sha256",
  baseline: baselineVerifyRate,
  goal: 20_000,
});

// ── secp256k1 over a relay-sized message ─────────────────────────────────────────────────────
// Through the package's own signing API (the native binding where it loads, as the apps run it),
// and the WASM fallback it uses elsewhere, against node:crypto's secp256k1 in the same run.
const message = randomBytes(512);
const privateKey = generatePrivateKey();
const publicKey = publicKeyFromPrivateKey(privateKey);
const signature = signDigest(sha256(message), privateKey);
const { privateKey: nodePriv, publicKey: nodePub } = generateKeyPairSync("ec", { namedCurve: "secp256k1" });
const nodeSig = nodeSign("sha256", message, { key: nodePriv, dsaEncoding: "ieee-p1363" });
const nodeSignRate = rate(
  () => nodeSign("sha256", message, { key: nodePriv, dsaEncoding: "ieee-p1363" }),
  20,
);
const nodeVerifyRate = rate(() => {
  if (!nodeVerify("sha256", message, { key: nodePub, dsaEncoding: "ieee-p1363" }, nodeSig))
    throw new Error("verify failed");
}, 20);
const implementations = [
  { name: secp256k1Implementation(), sign: signDigest, verify: verifyDigest },
  ...(secp256k1Implementation() === "wasm"
    ? []
    : [{ name: "wasm" as const, sign: wasmBackend.sign, verify: wasmBackend.verify }]),
];
for (const impl of implementations) {
  rows.push({
    operation: `secp256k1 sign, ${impl.name} (sha256 + ECDSA, 512 B)`,
    unit: "sign/s",
    ours: rate(() => impl.sign(sha256(message), privateKey), 20),
    baselineName: "node:crypto secp256k1",
    baseline: nodeSignRate,
  });
  rows.push({
    operation: `secp256k1 verify, ${impl.name} (sha256 + ECDSA, 512 B)`,
    unit: "verify/s",
    ours: rate(() => {
      if (!impl.verify(sha256(message), publicKey, signature)) throw new Error("verify failed");
    }, 20),
    baselineName: "node:crypto secp256k1",
    baseline: nodeVerifyRate,
  });
}

// ── Report ───────────────────────────────────────────────────────────────────────────────────
const fmt = (n: number) => Math.round(n).toLocaleString("en-US");
console.log(
  `\n@pocket-ai/protocol bench — node ${process.version}, ${process.arch}${quick ? ", --quick" : ""}\n`,
);
console.log("| operation | unit | Pocket AI | baseline | baseline value | ratio | goal |");
console.log("| --- | --- | ---: | --- | ---: | ---: | ---: |");
for (const r of rows) {
  const goal = r.goal === undefined ? "" : `${fmt(r.goal)} (${(r.ours / r.goal).toFixed(2)}×)`;
  console.log(
    `| ${r.operation} | ${r.unit} | ${fmt(r.ours)} | ${r.baselineName} | ${fmt(r.baseline)} | ${(r.ours / r.baseline).toFixed(2)}× | ${goal} |`,
  );
}

const out = join(dirname(fileURLToPath(import.meta.url)), "results", "latest.json");
mkdirSync(dirname(out), { recursive: true });
writeFileSync(
  out,
  `${JSON.stringify(
    {
      date: new Date().toISOString(),
      node: process.version,
      arch: process.arch,
      quick,
      rows: rows.map((r) => ({ ...r, ratio: r.ours / r.baseline })),
    },
    null,
    2,
  )}\n`,
);
console.log(`\nwrote ${out}`);
