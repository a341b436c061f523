import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { generateKeyPair } from "../crypto/index.js";
import { bytesToHex, canonicalHash, canonicalJson } from "../encoding/index.js";
import type { SessionHeader } from "../session/index.js";
import {
  createRelayRequest,
  generateRelayNonce,
  type RelayRequest,
  type RelayRequestFields,
  relayRequestHash,
  verifyRelayRequest,
} from "./relay-request.js";

const gateway = generateKeyPair();
const otherGateway = generateKeyPair();
const node = generateKeyPair();
const otherNode = generateKeyPair();

const header: SessionHeader = {
  applicationAddress: generateKeyPair().address,
  serviceId: "llama-2-13b",
  sessionNumber: 42,
  sessionId: "ab".repeat(32),
  sessionStart: 1_700_000_000_000,
  sessionEnd: 1_700_000_900_000,
};

const fields: RelayRequestFields = {
  header,
  tier: "standard",
  operation: "chat.completions",
  payload: {
    model: "llama-2-13b",
    messages: [{ role: "user", content: "Say hi in French." }],
    max_tokens: 64,
    temperature: 0.7,
  },
  issuedAt: 1_700_000_123_456,
  target: node.address,
  inputCount: { tokenizer: "llama-2", promptTokens: [12] },
};

const request = createRelayRequest(fields, gateway);
const printableChar = fc.integer({ min: 0x20, max: 0x7e }).map((code) => String.fromCharCode(code));

/** A deep copy of the request as a JSON-decoded value, to be modified freely. */
function copy(): Record<string, unknown> & RelayRequest {
  return JSON.parse(JSON.stringify(request));
}

describe("createRelayRequest", () => {
  it("fills version, nonce, gateway identity and a verifiable signature", () => {
    expect(request.v).toBe(1);
    expect(request.nonce).toMatch(/^[0-9a-f]{32}$/);
    expect(request.gateway).toEqual({ address: gateway.address, publicKey: gateway.publicKeyHex });
    const checked = verifyRelayRequest(request);
    expect(checked.ok).toBe(true);
    if (!checked.ok) return;
    expect(checked.value.requestHash).toBe(relayRequestHash(request));
    const { signature: _signature, ...unsigned } = request;
    expect(checked.value.requestHash).toBe(bytesToHex(canonicalHash(unsigned)));
    expect(relayRequestHash(unsigned)).toBe(checked.value.requestHash);
  });

  it("draws a fresh nonce per request unless one is given", () => {
    expect(createRelayRequest(fields, gateway).nonce).not.toBe(request.nonce);
    const nonce = generateRelayNonce();
    const a = createRelayRequest({ ...fields, nonce }, gateway);
    const b = createRelayRequest({ ...fields, nonce }, gateway.privateKey);
    expect(a).toEqual(b);
    expect(relayRequestHash(a)).toBe(relayRequestHash(b));
  });

  it("never repeats a nonce across refills of its random pool (256 nonces per draw)", () => {
    const nonces = Array.from({ length: 1_000 }, () => generateRelayNonce());
    for (const nonce of nonces) expect(nonce).toMatch(/^[0-9a-f]{32}$/);
    expect(new Set(nonces).size).toBe(nonces.length);
  });

  it("throws a TypeError naming the field when the fields are invalid", () => {
    expect(() => createRelayRequest({ ...fields, tier: "" }, gateway)).toThrow(/tier/);
    expect(() => createRelayRequest({ ...fields, payload: { n: Number.NaN } }, gateway)).toThrow(/payload/);
    expect(() => createRelayRequest({ ...fields, nonce: "xyz" }, gateway)).toThrow(/nonce/);
    expect(() => createRelayRequest({ ...fields, header: { ...header, sessionId: "00" } }, gateway)).toThrow(
      /header\.sessionId/,
    );
  });
});

describe("verifyRelayRequest", () => {
  it("survives a JSON round trip and any reordering of payload keys", () => {
    const reordered = copy();
    const payload = reordered.payload as Record<string, unknown>;
    reordered.payload = Object.fromEntries(Object.entries(payload).reverse());
    const checked = verifyRelayRequest(reordered);
    expect(checked.ok && checked.value.requestHash).toBe(relayRequestHash(request));
  });

  it("does not change identity when re-signed", () => {
    const { signature: _s, ...unsigned } = request;
    const resigned = createRelayRequest({ ...fields, nonce: request.nonce }, gateway);
    expect(relayRequestHash(resigned)).toBe(relayRequestHash(unsigned));
  });

  type Tamper = [name: string, change: (r: Record<string, unknown> & RelayRequest) => void, code: string];
  const tampers: Tamper[] = [
    [
      "header.applicationAddress",
      (r) => {
        r.header.applicationAddress = otherGateway.address;
      },
      "INVALID_SIGNATURE",
    ],
    [
      "header.serviceId",
      (r) => {
        r.header.serviceId = "mistral-7b";
      },
      "INVALID_SIGNATURE",
    ],
    [
      "header.sessionNumber",
      (r) => {
        r.header.sessionNumber += 1;
      },
      "INVALID_SIGNATURE",
    ],
    [
      "header.sessionId",
      (r) => {
        r.header.sessionId = "cd".repeat(32);
      },
      "INVALID_SIGNATURE",
    ],
    [
      "header.sessionStart",
      (r) => {
        r.header.sessionStart -= 1;
      },
      "INVALID_SIGNATURE",
    ],
    [
      "header.sessionEnd",
      (r) => {
        r.header.sessionEnd += 1;
      },
      "INVALID_SIGNATURE",
    ],
    [
      "tier",
      (r) => {
        r.tier = "batch";
      },
      "INVALID_SIGNATURE",
    ],
    [
      "inputCount.promptTokens",
      (r) => {
        r.inputCount = { tokenizer: "llama-2", promptTokens: [11] };
      },
      "INVALID_SIGNATURE",
    ],
    [
      "inputCount removed",
      (r) => {
        delete (r as Record<string, unknown>).inputCount;
      },
      "INVALID_SIGNATURE",
    ],
    [
      "inputCount.tokenizer",
      (r) => {
        r.inputCount = { tokenizer: "mistral", promptTokens: [12] };
      },
      "INVALID_SIGNATURE",
    ],
    [
      "operation",
      (r) => {
        r.operation = "completions";
      },
      "INVALID_SIGNATURE",
    ],
    [
      "payload value",
      (r) => {
        (r.payload as { max_tokens: number }).max_tokens = 1000;
      },
      "INVALID_SIGNATURE",
    ],
    [
      "payload extra key",
      (r) => {
        (r.payload as Record<string, unknown>).stream = true;
      },
      "INVALID_SIGNATURE",
    ],
    [
      "payload replaced",
      (r) => {
        r.payload = null;
      },
      "INVALID_SIGNATURE",
    ],
    [
      "nonce",
      (r) => {
        r.nonce = generateRelayNonce();
      },
      "INVALID_SIGNATURE",
    ],
    [
      "issuedAt",
      (r) => {
        r.issuedAt += 1;
      },
      "INVALID_SIGNATURE",
    ],
    [
      "target changed",
      (r) => {
        r.target = otherNode.address;
      },
      "INVALID_SIGNATURE",
    ],
    ["target removed", (r) => void delete r.target, "INVALID_SIGNATURE"],
    [
      "signature",
      (r) => {
        r.signature = `${r.signature.slice(0, -1)}${r.signature.endsWith("0") ? "1" : "0"}`;
      },
      "INVALID_SIGNATURE",
    ],
    [
      "gateway.address",
      (r) => {
        r.gateway.address = otherGateway.address;
      },
      "ADDRESS_MISMATCH",
    ],
    [
      "gateway.publicKey",
      (r) => {
        r.gateway.publicKey = otherGateway.publicKeyHex;
      },
      "ADDRESS_MISMATCH",
    ],
    [
      "gateway identity swapped consistently",
      (r) => {
        r.gateway = { address: otherGateway.address, publicKey: otherGateway.publicKeyHex };
      },
      "INVALID_SIGNATURE",
    ],
    [
      "v",
      (r) => {
        r.v = 2 as 1;
      },
      "MALFORMED_ENVELOPE",
    ],
    [
      "extra field",
      (r) => {
        r.extra = 1;
      },
      "MALFORMED_ENVELOPE",
    ],
    ["missing nonce", (r) => void delete (r as Partial<RelayRequest>).nonce, "MALFORMED_ENVELOPE"],
    ["missing payload", (r) => void delete (r as Partial<RelayRequest>).payload, "MALFORMED_ENVELOPE"],
    [
      "upper-case signature",
      (r) => {
        r.signature = r.signature.toUpperCase();
      },
      "MALFORMED_ENVELOPE",
    ],
    [
      "unknown operation",
      (r) => {
        r.operation = "audio.speech" as "completions";
      },
      "MALFORMED_ENVELOPE",
    ],
    [
      "fractional issuedAt",
      (r) => {
        r.issuedAt += 0.5;
      },
      "MALFORMED_ENVELOPE",
    ],
  ];

  it.each(tampers)("refuses a change of %s", (_name, change, code) => {
    const tampered = copy();
    change(tampered);
    const checked = verifyRelayRequest(tampered);
    expect(checked.ok).toBe(false);
    if (!checked.ok) expect(checked.error.code).toBe(code);
  });

  it("names the schema issue's path as detail and param", () => {
    const tampered = copy();
    tampered.header.sessionId = "XYZ";
    const checked = verifyRelayRequest(tampered);
    expect(checked.ok).toBe(false);
    if (checked.ok) return;
    expect(checked.error.param).toBe("header.sessionId");
    expect(checked.error.detail).toContain("header.sessionId");
  });

  it("refuses a request targeted at another node when the node says who it is", () => {
    expect(verifyRelayRequest(request, { nodeAddress: node.address }).ok).toBe(true);
    const elsewhere = verifyRelayRequest(request, { nodeAddress: otherNode.address });
    expect(!elsewhere.ok && elsewhere.error.code).toBe("ADDRESS_MISMATCH");
    expect(!elsewhere.ok && elsewhere.error.param).toBe("target");
    // The gateway is told where the request belongs, not to look for a key problem it does not have.
    expect(!elsewhere.ok && elsewhere.error.message).toContain("Send it to the node it targets");
    const { target: _t, ...untargeted } = fields;
    expect(
      verifyRelayRequest(createRelayRequest(untargeted, gateway), { nodeAddress: otherNode.address }).ok,
    ).toBe(true);
  });

  it("refuses any single-character change of the serialized envelope", () => {
    const json = JSON.stringify(request);
    const original = canonicalJson(request);
    fc.assert(
      fc.property(fc.nat({ max: json.length - 1 }), printableChar, (index, char) => {
        fc.pre(json[index] !== char);
        let changed: unknown;
        try {
          changed = JSON.parse(json.slice(0, index) + char + json.slice(index + 1));
        } catch {
          return;
        }
        const checked = verifyRelayRequest(changed);
        if (checked.ok) expect(canonicalJson(changed)).toBe(original);
      }),
      { numRuns: 1000 },
    );
  });

  it("never throws on arbitrary input", () => {
    fc.assert(
      fc.property(fc.anything(), (input) => {
        expect(verifyRelayRequest(input).ok).toBe(false);
      }),
      { numRuns: 500 },
    );
  });

  it("never throws when any field is replaced by an arbitrary value", () => {
    const keys = Object.keys(request);
    fc.assert(
      fc.property(fc.constantFrom(...keys), fc.anything(), (key, value) => {
        const tampered = { ...copy(), [key]: value };
        const checked = verifyRelayRequest(tampered);
        if (checked.ok) expect(canonicalJson(tampered)).toBe(canonicalJson(request));
      }),
      { numRuns: 500 },
    );
  });
});
