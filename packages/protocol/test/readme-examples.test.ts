/**
 * The README's examples, copied here so that they run: a README example that stops working fails
 * this test. The last tests check that every README code line still appears here and that the
 * error-code table lists every code, so the two cannot drift apart.
 */
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import * as protocol from "../src/index.js";
import {
  buildClaimTree,
  checkClaimAgainstLedger,
  checkTextLimits,
  claimRoot,
  coveredTier,
  createClaimAck,
  createClaimSubmission,
  createNodeAnnouncement,
  createProofAck,
  createProofSubmission,
  createRelayRequest,
  createStreamCutReceipt,
  cutStreamComputeUnits,
  DEFAULT_CATALOG,
  deriveSessionHeader,
  ErrorCodes,
  findService,
  formatPokt,
  generateKeyPair,
  generateProofSeed,
  isNodeInSession,
  mintForClaim,
  PROTOCOL_VERSION,
  pinPrice,
  proofLeafIndex,
  proveClaimLeaf,
  relayComputeUnits,
  resolveModelName,
  SessionParams,
  selectSessionNodes,
  sha256,
  sha256Hex,
  uPoktPerRelay,
  verifyClaimAck,
  verifyClaimProof,
  verifyClaimSubmission,
  verifyNodeAnnouncement,
  verifyProofAck,
  verifyProofSubmission,
  verifyRelayRequest,
  verifyStreamCutReceipt,
  weeklyTally,
} from "../src/index.js";

const here = dirname(fileURLToPath(import.meta.url));
const readme = readFileSync(resolve(here, "../README.md"), "utf8");
const thisFile = readFileSync(fileURLToPath(import.meta.url), "utf8");

describe("README quick tour", () => {
  it("resolves a model name and checks a call against its tier", () => {
    const resolved = resolveModelName(DEFAULT_CATALOG, "llama2:13b:batch"); // an Ollama-style alias works too
    if (!resolved.ok) throw new Error(resolved.error.message);
    const model = resolved.value;
    const name = model.modelName; // "llama-2-13b:batch"
    const price = model.tier.priceMicroUsd; // 500 µUSD = $0.0005 per call

    const fits = checkTextLimits(model, { inputTokens: 120, maxTokens: 256 });
    const fitsOk = fits.ok; // true
    const tooLong = checkTextLimits(model, { inputTokens: 240 });
    const refusal = tooLong.ok ? null : tooLong.error.code; // "INPUT_TOO_LONG"

    expect(name).toBe("llama-2-13b:batch");
    expect(price).toBe(500);
    expect(fitsOk).toBe(true);
    expect(refusal).toBe("INPUT_TOO_LONG");
  });

  it("signs and verifies a relay request", () => {
    const gateway = generateKeyPair();
    const node = generateKeyPair();
    const app = generateKeyPair();
    const params = SessionParams.parse({
      mode: "time",
      genesisMs: 0,
      sessionLengthMs: 3_600_000,
      graceMs: 60_000,
    });
    const header = deriveSessionHeader(params, app.address, "llama-2-13b", Date.now());

    const request = createRelayRequest(
      {
        header,
        tier: "standard",
        operation: "chat.completions",
        payload: { model: "llama-2-13b", messages: [{ role: "user", content: "Hi!" }], max_tokens: 64 },
        issuedAt: Date.now(),
        target: node.address,
      },
      gateway,
    );

    // On the node: parse what arrived on the wire and check the gateway's signature.
    const wire = JSON.parse(JSON.stringify(request));
    const received = verifyRelayRequest(wire, { nodeAddress: node.address });
    const accepted = received.ok; // true
    const forged = verifyRelayRequest({ ...request, tier: "batch" });
    const forgedCode = forged.ok ? null : forged.error.code; // "INVALID_SIGNATURE"

    expect(accepted).toBe(true);
    expect(forgedCode).toBe("INVALID_SIGNATURE");
  });

  it("names the tier a node serves a relay under, and weighs it by", () => {
    const llama = findService(DEFAULT_CATALOG, "llama-2-13b")!;
    const batch = coveredTier(llama, ["standard"], "batch"); // a standard node takes batch calls
    const weight = relayComputeUnits(batch!, { inputTokens: 20, outputTokens: 100 }, "per-call"); // 500, not 750
    const refused = coveredTier(llama, ["batch"], "standard"); // undefined: the node answers UNKNOWN_TIER

    expect(batch?.id).toBe("batch");
    expect(weight).toBe(500);
    expect(refused).toBeUndefined();
  });

  it("derives a session and selects its nodes", () => {
    const params = SessionParams.parse({
      mode: "time",
      genesisMs: 0,
      sessionLengthMs: 3_600_000,
      graceMs: 60_000,
    });
    const app = generateKeyPair().address;
    const header = deriveSessionHeader(params, app, "mistral-7b", 1_700_000_000_000);
    const lengthMs = header.sessionEnd - header.sessionStart; // 3_600_000

    const candidates = Array.from({ length: 10 }, () => ({ address: generateKeyPair().address }));
    const chosen = selectSessionNodes(header.sessionId, candidates, 3); // the 3 lowest draws
    // Anyone with the session id and the candidate set gets the same answer, in any order:
    const reordered = [...candidates].reverse();
    const member = isNodeInSession(header.sessionId, reordered, 3, chosen[0]!.address); // true

    expect(lengthMs).toBe(3_600_000);
    expect(chosen).toHaveLength(3);
    expect(member).toBe(true);
  });

  it("builds a claim tree, proves a leaf and verifies the proof", () => {
    // The node keeps only relay hashes and compute units, never prompts or outputs.
    const leaves = Array.from({ length: 1000 }, (_, i) => ({
      hash: sha256(`relay-${i}`),
      computeUnits: 750,
    }));
    const tree = buildClaimTree(leaves);
    const root = claimRoot(tree); // { root: "…64 hex…", relays: 1000, computeUnits: "750000" }

    // The gateway draws the seed only after storing the claim, so the node cannot pick the leaf.
    const seed = generateProofSeed();
    const index = proofLeafIndex(seed, root);
    const proof = proveClaimLeaf(tree, index);
    const valid = verifyClaimProof(root, proof, index).ok; // true

    expect(root.relays).toBe(1000);
    expect(root.computeUnits).toBe("750000");
    expect(index).toBeLessThan(1000);
    expect(valid).toBe(true);
  });

  it("prices a relay, mints on a proven claim and tallies the week (the seed's numbers)", () => {
    const perRelay = uPoktPerRelay(750, 250_000); // 3000n uPOKT: $0.00075 at $0.25/POKT

    // Pinned when the session starts, so a mid-session price change never forfeits a claim.
    const pin = pinPrice(
      { serviceId: "llama-2-13b", tierId: "standard", priceMicroUsd: 750, computeUnitsPerRelay: 750 },
      { weekId: "2026-W48", rateMicroUsdPerPokt: 250_000 },
    );
    const minted = mintForClaim({ relays: 100_000, computeUnits: "75000000" }, pin); // 300_000_000n

    const [row] = weeklyTally([
      { operator: "portal-xyz", serviceId: "llama-2-13b", weekId: "2026-W48", uPokt: minted },
    ]);
    const summary = [row!.minted, row!.charged, row!.burned].map(formatPokt); // ["300", "300", "300"]

    expect(perRelay).toBe(3000n);
    expect(formatPokt(perRelay)).toBe("0.003");
    expect(minted).toBe(300_000_000n);
    expect(summary).toEqual(["300", "300", "300"]);
  });

  it("registers a node with a gateway", () => {
    const node = generateKeyPair();
    const gateway = generateKeyPair();
    const announcement = createNodeAnnouncement(
      {
        endpoint: "https://node.example.org/trpc",
        operator: "Acme GPU Co.",
        services: [
          {
            serviceId: "llama-2-13b",
            tiers: ["standard", "batch"],
            model: { declared: "meta-llama/Llama-2-13b-chat-hf", family: "llama-2", quantization: "none" },
            capabilities: {
              completions: true,
              chat: true,
              streaming: true,
              promptLogprobs: true,
              logprobs: true,
              seed: true,
              tokenize: true,
              images: null,
            },
            tokenizer: { kind: "backend", exact: true },
          },
        ],
        hardware: { gpu: "NVIDIA RTX 4090", vramGb: 24, cpuOnly: false },
        software: { name: "my-node", version: "1.0.0" },
        gatewayAddress: gateway.address, // signed for this gateway alone
        issuedAt: Date.now(),
      },
      node,
    );

    // On the gateway: signature, identity, freshness (older than 5 minutes is "stale") and the gateway
    // it was signed for.
    const registered = verifyNodeAnnouncement(JSON.parse(JSON.stringify(announcement)), {
      gatewayAddress: gateway.address,
    });
    const isRegistered = registered.ok; // true
    const replayed = verifyNodeAnnouncement(announcement, { now: Date.now() + 3_600_000 });
    const replayDetail = replayed.ok ? null : replayed.error.detail; // "stale"
    const elsewhere = verifyNodeAnnouncement(announcement, { gatewayAddress: generateKeyPair().address });
    const elsewhereCode = elsewhere.ok ? null : elsewhere.error.code; // "ANNOUNCEMENT_WRONG_GATEWAY"

    expect(isRegistered).toBe(true);
    expect(replayDetail).toBe("stale");
    expect(elsewhereCode).toBe("ANNOUNCEMENT_WRONG_GATEWAY");
  });

  it("settles a session: claim, ack, proof", () => {
    const node = generateKeyPair();
    const gateway = generateKeyPair();
    const params = SessionParams.parse({
      mode: "time",
      genesisMs: 0,
      sessionLengthMs: 3_600_000,
      graceMs: 60_000,
    });
    const header = deriveSessionHeader(params, generateKeyPair().address, "llama-2-13b", 1_700_000_000_000);
    const leaves = Array.from({ length: 40 }, (_, i) => ({ hash: sha256(`relay-${i}`), computeUnits: 750 }));
    const tree = buildClaimTree(leaves);
    const root = claimRoot(tree);

    // Node → gateway: the signed claim.
    const claim = createClaimSubmission(
      { gatewayAddress: gateway.address, header, root, issuedAt: Date.now() },
      node,
    );

    // Gateway: verify, compare with its own ledger of verified responses, store, then draw the seed.
    const received = verifyClaimSubmission(claim, { gatewayAddress: gateway.address }); // ok: true
    const withinLedger = checkClaimAgainstLedger(root, { relays: 40, computeUnits: 30_000n }).ok; // true
    const about = { nodeAddress: node.address, sessionId: header.sessionId, root, issuedAt: Date.now() };
    const ack = createClaimAck({ status: "accepted", proofSeed: generateProofSeed(), ...about }, gateway);

    // Node: check the gateway's signature, that the receipt is for its claim, and the ack's leaf index
    // against the seed; keep the receipt, prove that leaf.
    const expected = {
      gatewayAddress: gateway.address,
      nodeAddress: node.address,
      sessionId: header.sessionId,
      root,
    };
    const asked = verifyClaimAck(ack, expected); // ok: true, leafIndex = proofLeafIndex(seed, root)
    const proofSubmission = createProofSubmission(
      {
        gatewayAddress: gateway.address,
        sessionId: header.sessionId,
        proof: proveClaimLeaf(tree, ack.leafIndex),
        issuedAt: Date.now(),
      },
      node,
    );

    // Gateway: verify the signature and the proof of the requested leaf, then mint.
    const proven = verifyProofSubmission(proofSubmission, {
      gatewayAddress: gateway.address,
      claim: root,
      leafIndex: ack.leafIndex,
    });
    const minted = mintForClaim(root, { uPoktPerRelay: "3000", computeUnitsPerRelay: 750 }); // 120_000n
    const proofAck = createProofAck(
      {
        status: proven.ok ? "proven" : "rejected",
        mintedUpokt: proven.ok ? minted.toString() : "0",
        ...about,
      },
      gateway,
    ); // signed: { status: "proven", mintedUpokt: "120000", … }

    // Node: the signed receipt of the mint, checked as the claim ack was.
    const receipt = verifyProofAck(proofAck, expected); // ok: true

    expect(received.ok).toBe(true);
    expect(withinLedger).toBe(true);
    expect(asked.ok && asked.value.leafIndex).toBe(proofLeafIndex(ack.proofSeed, root));
    expect(proven.ok).toBe(true);
    expect(minted).toBe(120_000n);
    expect(proofAck).toMatchObject({
      status: "proven",
      mintedUpokt: "120000",
      gateway: { address: gateway.address },
    });
    expect(receipt.ok).toBe(true);
  });

  it("pays a stream cut short by its client through the gateway's signed receipt", () => {
    const node = generateKeyPair();
    const gateway = generateKeyPair();
    const sessionId = "11".repeat(32);
    const requestHash = sha256Hex("a streamed request");
    const chain = sha256Hex("the last head the client read to");

    const computeUnits = cutStreamComputeUnits({ computeUnitsPerRelay: 750 }, { outputTokens: 3 }, 8); // 282
    const cut = createStreamCutReceipt(
      {
        nodeAddress: node.address,
        sessionId,
        requestHash,
        chain,
        outputTokens: 3,
        computeUnits,
        issuedAt: Date.now(),
      },
      gateway,
    );
    const taken = verifyStreamCutReceipt(cut, { nodeAddress: node.address }); // ok: true; the node checks the gateway against its ledger

    expect(computeUnits).toBe(282);
    expect(taken.ok && taken.value.gateway.address).toBe(gateway.address);
    expect(
      verifyStreamCutReceipt({ ...cut, computeUnits: 750 }, { nodeAddress: node.address }),
    ).toMatchObject({
      ok: false,
      error: { code: "INVALID_SIGNATURE" },
    });
    // A receipt of nothing pays no output: it says the client left before anything was covered.
    const none = { nodeAddress: node.address, sessionId, requestHash, chain: requestHash, issuedAt: 1 };
    expect(
      verifyStreamCutReceipt(createStreamCutReceipt({ ...none, outputTokens: 0, computeUnits: 0 }, gateway), {
        nodeAddress: node.address,
      }).ok,
    ).toBe(true);
    expect(() => createStreamCutReceipt({ ...none, outputTokens: 3, computeUnits: 0 }, gateway)).toThrow(
      TypeError,
    );
    expect(verifyStreamCutReceipt(cut, { nodeAddress: gateway.address })).toMatchObject({
      ok: false,
      error: { code: "ADDRESS_MISMATCH" },
    });
  });
});

/** Code without white space or commas, so line breaks and trailing commas do not matter. */
function squeeze(code: string): string {
  return code.replace(/[\s,]/g, "");
}

describe("the README stays in step with the code", () => {
  const blocks = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1] ?? "");

  it("has the examples this file runs", () => {
    expect(blocks).toHaveLength(9);
  });

  it("shows no code line that this file does not run", () => {
    const source = squeeze(thisFile);
    for (const block of blocks) {
      const code = block.replace(/import \{[\s\S]*?\} from "@pocket-ai\/protocol";\n/g, "");
      for (const line of code.split("\n")) {
        if (line.trim() === "") continue;
        expect(source, `README line not in readme-examples.test.ts: ${line}`).toContain(squeeze(line));
      }
    }
  });

  it("imports only names the package exports", () => {
    for (const block of blocks) {
      for (const m of block.matchAll(/import \{([\s\S]*?)\} from "@pocket-ai\/protocol"/g)) {
        for (const name of (m[1] ?? "")
          .split(",")
          .map((n) => n.trim())
          .filter((n) => n !== "")) {
          expect(protocol, `README imports ${name}`).toHaveProperty(name);
        }
      }
    }
  });

  it("lists every error code with its HTTP status and OpenAI type", () => {
    // Table cells are compared without their padding, which a formatter may change.
    const rows = readme.split("\n").map((line) =>
      line
        .split("|")
        .map((cell) => cell.trim())
        .join("|"),
    );
    for (const [code, spec] of Object.entries(ErrorCodes)) {
      expect(rows).toContain(`|\`${code}\`|${spec.status}|\`${spec.type}\`|${spec.message}|`);
    }
  });

  it("names the current protocol version", () => {
    expect(readme).toContain(`currently \`${PROTOCOL_VERSION}\``);
  });
});
