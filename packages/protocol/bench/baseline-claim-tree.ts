/**
 * The benchmark's baseline claim tree: the same digest formats as `src/claims/`, hashed with
 * node:crypto's SHA-256 the straightforward way (one hash object, buffers and bigints per node).
 * It also cross-checks the fast implementation: the bench fails if the roots differ.
 */
import { createHash } from "node:crypto";
import type { ClaimProof } from "../src/claims/index.js";

function u64(n: bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(n);
  return b;
}
export function nodeCryptoRoot(leaves: readonly { hash: Uint8Array; computeUnits: number }[]): Buffer {
  const sorted = [...leaves].sort((a, b) => Buffer.compare(a.hash, b.hash));
  let level = sorted.map((l) => ({
    digest: createHash("sha256")
      .update(Buffer.from([0]))
      .update(l.hash)
      .update(u64(BigInt(l.computeUnits)))
      .digest(),
    count: 1n,
    cu: BigInt(l.computeUnits),
  }));
  while (level.length > 1) {
    const next: typeof level = [];
    for (let i = 0; i + 1 < level.length; i += 2) {
      const l = level[i]!;
      const r = level[i + 1]!;
      const count = l.count + r.count;
      const cu = l.cu + r.cu;
      const h = createHash("sha256")
        .update(Buffer.from([1]))
        .update(l.digest)
        .update(r.digest);
      next.push({ digest: h.update(u64(count)).update(u64(cu)).digest(), count, cu });
    }
    if (level.length % 2 === 1) next.push(level[level.length - 1]!);
    level = next;
  }
  return level[0]!.digest;
}
export function nodeCryptoVerify(proof: ClaimProof, root: string): boolean {
  let digest = createHash("sha256")
    .update(Buffer.from([0]))
    .update(Buffer.from(proof.leaf.hash, "hex"))
    .update(u64(BigInt(proof.leaf.computeUnits)))
    .digest();
  let count = 1n;
  let cu = BigInt(proof.leaf.computeUnits);
  for (const step of proof.path) {
    const sibling = Buffer.from(step.digest, "hex");
    count += BigInt(step.count);
    cu += BigInt(step.computeUnits);
    const [l, r] = step.side === "left" ? [sibling, digest] : [digest, sibling];
    digest = createHash("sha256")
      .update(Buffer.from([1]))
      .update(l)
      .update(r)
      .update(u64(count))
      .update(u64(cu))
      .digest();
  }
  return digest.toString("hex") === root;
}
