import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { generateKeyPair } from "../crypto/index.js";
import { bytesToHex, canonicalBytes, hexToBytes, sha256 } from "../encoding/index.js";
import {
  createRelayStreamChunk,
  type RelayStreamChunk,
  type RelayStreamFinal,
  relayStreamChain,
} from "./relay-stream-chunk.js";
import { RelayStreamSigner } from "./relay-stream-signer.js";
import { RelayStreamVerifier } from "./relay-stream-verifier.js";
import { verifyRelayStreamChunk } from "./verify-relay-stream-chunk.js";

const node = generateKeyPair();
const otherNode = generateKeyPair();
const requestHash = "5a".repeat(32);
const otherRequestHash = "a5".repeat(32);
const final: RelayStreamFinal = {
  outcome: "ok",
  usage: { inputTokens: 9, outputTokens: 3 },
  computeUnits: 12,
};

function sseChunk(text: string, index: number): unknown {
  return {
    id: "chatcmpl-1",
    object: "chat.completion.chunk",
    choices: [{ index: 0, delta: { content: text } }],
    n: index,
  };
}

/** A complete signed stream: one chunk per text and a final chunk with `data: null`. */
function signStream(texts: readonly string[], hash = requestHash, key = node): RelayStreamChunk[] {
  const signer = new RelayStreamSigner(hash, key);
  const chunks = texts.map((text, i) => signer.next(sseChunk(text, i)));
  chunks.push(signer.finish(null, final));
  return chunks;
}

/** Feeds chunks to a fresh verifier; returns the index of the first refusal, or -1. */
function firstRefusal(chunks: readonly unknown[]): { index: number; verifier: RelayStreamVerifier } {
  const verifier = new RelayStreamVerifier({ publicKey: node.publicKeyHex, requestHash });
  for (const [index, chunk] of chunks.entries()) {
    if (!verifier.accept(chunk).ok) return { index, verifier };
  }
  return { index: -1, verifier };
}

describe("relayStreamChain", () => {
  it("is SHA-256 of the previous chain bytes and the data's canonical bytes", () => {
    const data = { b: 1, a: [2] };
    const expected = bytesToHex(
      sha256(new Uint8Array([...hexToBytes(requestHash), ...canonicalBytes(data)])),
    );
    expect(relayStreamChain(requestHash, data)).toBe(expected);
    expect(relayStreamChain(requestHash, { a: [2], b: 1 })).toBe(expected);
    expect(() => relayStreamChain("00", data)).toThrow(TypeError);
  });
});

describe("RelayStreamSigner and RelayStreamVerifier", () => {
  it("refuses a request hash that is not 64 lowercase hex digits", () => {
    const key = generateKeyPair();
    for (const bad of [
      "AB".repeat(32),
      "ab".repeat(31),
      `${"ab".repeat(32)}0`,
      "",
      42 as unknown as string,
    ]) {
      expect(() => new RelayStreamSigner(bad, key)).toThrow(TypeError);
    }
    expect(new RelayStreamSigner("ab".repeat(32), key).nextSeq).toBe(0);
  });

  it("sign and verify a stream chunk by chunk", () => {
    const chunks = signStream(["Bon", "jour", "!"]);
    expect(chunks.map((c) => c.seq)).toEqual([0, 1, 2, 3]);
    expect(chunks[0]!.chain).toBe(relayStreamChain(requestHash, chunks[0]!.data));
    const { index, verifier } = firstRefusal(JSON.parse(JSON.stringify(chunks)));
    expect(index).toBe(-1);
    expect(verifier.finished).toBe(true);
    expect(verifier.final).toEqual(final);
    expect(verifier.chain).toBe(chunks.at(-1)!.chain);
    expect(verifier.nextSeq).toBe(4);
  });

  it("refuses to sign after the final chunk, and the verifier refuses chunks after it", () => {
    const signer = new RelayStreamSigner(requestHash, node.privateKey);
    const last = signer.finish({ done: true }, final);
    expect(signer.finished).toBe(true);
    expect(() => signer.next({})).toThrow(/finished/);
    const extra = createRelayStreamChunk({ requestHash, seq: 1, data: {}, prevChain: last.chain }, node);
    expect(firstRefusal([last, extra]).index).toBe(1);
  });

  it("reports an incomplete stream as not finished", () => {
    const chunks = signStream(["a", "b"]);
    const { index, verifier } = firstRefusal(chunks.slice(0, -1));
    expect(index).toBe(-1);
    expect(verifier.finished).toBe(false);
    expect(verifier.final).toBeUndefined();
  });

  it("refuses reordered chunks", () => {
    fc.assert(
      fc.property(
        fc.array(fc.string(), { minLength: 2, maxLength: 8 }),
        fc.nat(),
        fc.nat(),
        (texts, a, b) => {
          const chunks = signStream(texts);
          const i = a % chunks.length;
          const j = b % chunks.length;
          fc.pre(i !== j);
          const swapped = [...chunks];
          [swapped[i], swapped[j]] = [swapped[j]!, swapped[i]!];
          expect(firstRefusal(swapped).index).toBe(Math.min(i, j));
        },
      ),
      { numRuns: 100 },
    );
  });

  it("refuses a stream with a dropped or duplicated chunk", () => {
    fc.assert(
      fc.property(fc.array(fc.string(), { minLength: 1, maxLength: 8 }), fc.nat(), (texts, a) => {
        const chunks = signStream(texts);
        const i = a % (chunks.length - 1);
        const dropped = chunks.filter((_, k) => k !== i);
        expect(firstRefusal(dropped).index).toBe(i);
        const duplicated = [...chunks.slice(0, i + 1), chunks[i]!, ...chunks.slice(i + 1)];
        expect(firstRefusal(duplicated).index).toBe(i + 1);
      }),
      { numRuns: 100 },
    );
  });

  it("refuses chunks spliced from another stream of the same node", () => {
    fc.assert(
      fc.property(
        fc.array(fc.string(), { minLength: 1, maxLength: 6 }),
        fc.array(fc.string(), { minLength: 1, maxLength: 6 }),
        fc.nat(),
        fc.boolean(),
        (texts, otherTexts, a, sameRelay) => {
          const chunks = signStream(texts);
          // Another stream, either for another relay or a second (equivocating) answer to this one.
          const other = signStream(otherTexts, sameRelay ? requestHash : otherRequestHash);
          const i = a % Math.min(chunks.length - 1, other.length);
          fc.pre(other[i]!.chain !== chunks[i]!.chain);
          const spliced = [...chunks.slice(0, i), other[i]!, ...chunks.slice(i + 1)];
          const { index } = firstRefusal(spliced);
          if (!sameRelay) expect(index).toBe(i);
          // A second answer to the same relay is self-consistent where it starts; the next chunk
          // of the original stream no longer extends its chain.
          else expect([i, i + 1]).toContain(index);
        },
      ),
      { numRuns: 100 },
    );
  });

  it("refuses another node's chunks and any tampered field", () => {
    const [first] = signStream(["hello"]);
    const expect0 = { publicKey: node.publicKeyHex, requestHash, expectedSeq: 0, prevChain: requestHash };
    expect(verifyRelayStreamChunk(first, expect0).ok).toBe(true);

    const [foreign] = signStream(["hello"], requestHash, otherNode);
    const wrongNode = verifyRelayStreamChunk(foreign, expect0);
    expect(!wrongNode.ok && wrongNode.error.code).toBe("ADDRESS_MISMATCH");

    const cases: [string, (c: Record<string, unknown>) => void, string][] = [
      [
        "data",
        (c) => {
          c.data = sseChunk("HELLO", 0);
        },
        "INVALID_SIGNATURE",
      ],
      [
        "chain",
        (c) => {
          c.chain = "77".repeat(32);
        },
        "INVALID_SIGNATURE",
      ],
      [
        "seq",
        (c) => {
          c.seq = 1;
        },
        "INVALID_SIGNATURE",
      ],
      [
        "requestHash",
        (c) => {
          c.requestHash = otherRequestHash;
        },
        "INVALID_SIGNATURE",
      ],
      [
        "final added",
        (c) => {
          c.final = final;
        },
        "INVALID_SIGNATURE",
      ],
      [
        "signature",
        (c) => {
          c.signature = (c.signature as string).replace(/^./, (d) => (d === "0" ? "1" : "0"));
        },
        "INVALID_SIGNATURE",
      ],
      [
        "node",
        (c) => {
          c.node = otherNode.address;
        },
        "ADDRESS_MISMATCH",
      ],
      [
        "extra field",
        (c) => {
          c.publicKey = node.publicKeyHex;
        },
        "MALFORMED_ENVELOPE",
      ],
      [
        "negative seq",
        (c) => {
          c.seq = -1;
        },
        "MALFORMED_ENVELOPE",
      ],
      [
        "final without error on outcome error",
        (c) => {
          c.final = { ...final, outcome: "error" };
        },
        "MALFORMED_ENVELOPE",
      ],
    ];
    for (const [name, change, code] of cases) {
      const tampered = JSON.parse(JSON.stringify(first)) as Record<string, unknown>;
      change(tampered);
      const checked = verifyRelayStreamChunk(tampered, expect0);
      expect({ name, code: checked.ok ? "ok" : checked.error.code }).toEqual({ name, code });
    }
  });

  it("names the expectation that a genuine chunk misses", () => {
    const [first, second] = signStream(["a", "b"]);
    const base = { publicKey: node.publicKeyHex, requestHash, expectedSeq: 1, prevChain: first!.chain };
    expect(verifyRelayStreamChunk(second, base).ok).toBe(true);
    const param = (r: ReturnType<typeof verifyRelayStreamChunk>) => (r.ok ? "ok" : r.error.param);
    expect(param(verifyRelayStreamChunk(second, { ...base, expectedSeq: 2 }))).toBe("seq");
    expect(param(verifyRelayStreamChunk(second, { ...base, prevChain: requestHash }))).toBe("chain");
    expect(param(verifyRelayStreamChunk(second, { ...base, requestHash: otherRequestHash }))).toBe(
      "requestHash",
    );
    expect(param(verifyRelayStreamChunk(second, { ...base, prevChain: "zz" }))).toBe("chain");
    expect(param(verifyRelayStreamChunk(second, { ...base, publicKey: "nope" }))).toBe("node");
  });

  it("never throws on arbitrary chunks, and a refused chunk leaves the verifier unchanged", () => {
    const chunks = signStream(["x", "y"]);
    fc.assert(
      fc.property(fc.anything(), fc.nat({ max: 2 }), (junk, position) => {
        const verifier = new RelayStreamVerifier({ publicKey: node.publicKeyHex, requestHash });
        for (const chunk of chunks.slice(0, position)) expect(verifier.accept(chunk).ok).toBe(true);
        expect(verifier.accept(junk).ok).toBe(false);
        for (const chunk of chunks.slice(position)) expect(verifier.accept(chunk).ok).toBe(true);
        expect(verifier.finished).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it("createRelayStreamChunk throws on invalid fields", () => {
    expect(() => createRelayStreamChunk({ requestHash, seq: 0, data: {}, prevChain: "00" }, node)).toThrow(
      /prevChain/,
    );
    expect(() =>
      createRelayStreamChunk({ requestHash, seq: 0, data: Number.NaN, prevChain: requestHash }, node),
    ).toThrow(/data/);
    expect(() =>
      createRelayStreamChunk({ requestHash: "ab", seq: 0, data: {}, prevChain: requestHash }, node),
    ).toThrow(/requestHash/);
    expect(() =>
      createRelayStreamChunk({ requestHash, seq: 0.5, data: {}, prevChain: requestHash }, node),
    ).toThrow(/seq/);
  });
});

describe("chain heads signed at intervals", () => {
  const cadenceStream = (count: number, everyChunks: number, clock?: () => number) => {
    const signer = new RelayStreamSigner(requestHash, node, {
      everyChunks,
      everyMs: clock === undefined ? Number.POSITIVE_INFINITY : 100,
      ...(clock === undefined ? {} : { now: clock }),
    });
    const chunks = Array.from({ length: count }, (_, i) => signer.next(sseChunk(`t${i}`, i)));
    chunks.push(signer.finish(null, final));
    return chunks;
  };

  it("sign the first chunk, every K-th after the last head and always the final one", () => {
    const chunks = cadenceStream(7, 3);
    expect(chunks.map((c) => c.signature !== undefined)).toEqual([
      true,
      false,
      false,
      true,
      false,
      false,
      true,
      true,
    ]);
    // The chain is the same whether or not a chunk is signed.
    const everyChunk = signStream(["t0", "t1", "t2", "t3", "t4", "t5", "t6"]);
    expect(chunks.map((c) => c.chain)).toEqual(everyChunk.map((c) => c.chain));
  });

  it("sign a head once the interval has passed, whatever the chunk count", () => {
    let now = 0;
    const signer = new RelayStreamSigner(requestHash, node, {
      everyChunks: 1000,
      everyMs: 100,
      now: () => now,
    });
    const heads: boolean[] = [];
    for (const t of [0, 50, 99, 100, 150, 260]) {
      now = t;
      heads.push(signer.next(sseChunk("x", 0)).signature !== undefined);
    }
    expect(heads).toEqual([true, false, false, true, false, true]);
  });

  it("verify heads only, and count what the last head covers", () => {
    const chunks = JSON.parse(JSON.stringify(cadenceStream(5, 3))) as RelayStreamChunk[];
    const verifier = new RelayStreamVerifier({ publicKey: node.publicKeyHex, requestHash });
    const covered: number[] = [];
    for (const chunk of chunks) {
      expect(verifier.accept(chunk).ok).toBe(true);
      covered.push(verifier.verifiedChunks);
    }
    expect(covered).toEqual([1, 1, 1, 4, 4, 6]);
    expect(verifier.finished).toBe(true);
    expect(verifier.verifiedChain).toBe(chunks.at(-1)!.chain);
  });

  it("leave unsigned chunks uncovered when the stream breaks before the next head", () => {
    const chunks = cadenceStream(5, 3);
    const verifier = new RelayStreamVerifier({ publicKey: node.publicKeyHex, requestHash });
    for (const chunk of chunks.slice(0, 6 - 1)) expect(verifier.accept(chunk).ok).toBe(true);
    // Chunks 0..4 accepted; the head at seq 3 covers 0..3; seq 4 is not the node's word yet.
    expect(verifier.verifiedChunks).toBe(4);
    expect(verifier.verifiedChain).toBe(chunks[3]!.chain);
    expect(verifier.finished).toBe(false);
  });

  it("refuse a forged unsigned chunk at the next head, and an unsigned final chunk", () => {
    const chunks = cadenceStream(5, 3);
    const forgedData = sseChunk("forged", 1);
    const forged = {
      ...withoutSignatureOf(chunks[1]!),
      data: forgedData,
      chain: relayStreamChain(chunks[0]!.chain, forgedData),
    };
    const verifier = new RelayStreamVerifier({ publicKey: node.publicKeyHex, requestHash });
    expect(verifier.accept(chunks[0]).ok).toBe(true);
    // A forged chunk that extends the chain is accepted for order, but covered by nothing...
    expect(verifier.accept(forged).ok).toBe(true);
    expect(verifier.verifiedChunks).toBe(1);
    // ...and the node's real chunks no longer extend it: the stream stops there.
    const next = verifier.accept(chunks[2]);
    expect(next.ok).toBe(false);
    expect(!next.ok && next.error.param).toBe("chain");
    expect(verifier.verifiedChunks).toBe(1);

    const fresh = new RelayStreamVerifier({ publicKey: node.publicKeyHex, requestHash });
    for (const chunk of chunks.slice(0, 5)) expect(fresh.accept(chunk).ok).toBe(true);
    const unsignedFinal = withoutSignatureOf(chunks[5]!);
    const refused = fresh.accept(unsignedFinal);
    expect(!refused.ok && refused.error.param).toBe("signature");
  });

  it("refuse an unsigned chunk that names another node", () => {
    const theirs = new RelayStreamSigner(requestHash, otherNode, { everyChunks: 10 });
    theirs.next(sseChunk("a", 0));
    const chunks = cadenceStream(2, 10);
    const verifier = new RelayStreamVerifier({ publicKey: node.publicKeyHex, requestHash });
    expect(verifier.accept(chunks[0]).ok).toBe(true);
    const refused = verifier.accept({ ...chunks[1]!, node: otherNode.address });
    expect(!refused.ok && refused.error.code).toBe("ADDRESS_MISMATCH");
  });
});

function withoutSignatureOf(chunk: RelayStreamChunk): RelayStreamChunk {
  const { signature: _signature, ...rest } = chunk;
  return rest;
}
