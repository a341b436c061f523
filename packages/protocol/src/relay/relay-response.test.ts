import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { generateKeyPair } from "../crypto/index.js";
import { bytesToHex, canonicalHash, canonicalJson } from "../encoding/index.js";
import type { SessionHeader } from "../session/index.js";
import { createRelayRequest, relayRequestHash } from "./relay-request.js";
import {
  createRelayResponse,
  type RelayResponse,
  type RelayResponseFields,
  relayResponseHash,
  signRelayResponse,
  verifyRelayResponse,
} from "./relay-response.js";

const gateway = generateKeyPair();
const node = generateKeyPair();
const otherNode = generateKeyPair();

const header: SessionHeader = {
  applicationAddress: generateKeyPair().address,
  serviceId: "mistral-7b",
  sessionNumber: 7,
  sessionId: "0f".repeat(32),
  sessionStart: 1_000,
  sessionEnd: 2_000,
};

const request = createRelayRequest(
  {
    header,
    tier: "batch",
    operation: "completions",
    payload: { model: "mistral-7b", prompt: "2+2=" },
    issuedAt: 1_500,
  },
  gateway,
);
const requestHash = relayRequestHash(request);

const fields: RelayResponseFields = {
  requestHash,
  header,
  outcome: "ok",
  payload: {
    id: "cmpl-1",
    object: "text_completion",
    choices: [{ index: 0, text: "4", finish_reason: "stop", logprobs: null }],
  },
  usage: { inputTokens: 4, outputTokens: 1 },
  computeUnits: 5,
};

const response = createRelayResponse(fields, node);
const expectations = { requestHash, nodeAddress: node.address, header };

function flipFirstHexDigit(hex: string): string {
  return (hex.startsWith("0") ? "1" : "0") + hex.slice(1);
}

function copy(): Record<string, unknown> & RelayResponse {
  return JSON.parse(JSON.stringify(response));
}

describe("createRelayResponse", () => {
  it("signs a response that verifies against the request it answers", () => {
    expect(response.node).toEqual({ address: node.address, publicKey: node.publicKeyHex });
    const checked = verifyRelayResponse(response, expectations);
    expect(checked.ok).toBe(true);
    if (!checked.ok) return;
    const { signature: _s, ...unsigned } = response;
    expect(checked.value.responseHash).toBe(bytesToHex(canonicalHash(unsigned)));
    expect(relayResponseHash(response)).toBe(checked.value.responseHash);
  });

  it("carries errors on outcome error, with no payload", () => {
    const { payload: _p, ...rest } = fields;
    const failed = createRelayResponse(
      {
        ...rest,
        outcome: "error",
        error: { code: "INPUT_TOO_LONG", message: "prompt has 240 tokens", detail: "limit 200" },
        usage: { inputTokens: 0, outputTokens: 0 },
        computeUnits: 0,
      },
      node.privateKey,
    );
    expect(verifyRelayResponse(failed, expectations).ok).toBe(true);
  });

  it("throws on inconsistent outcome fields", () => {
    const { payload: _p, ...noPayload } = fields;
    expect(() => createRelayResponse(noPayload, node)).toThrow(/payload/);
    expect(() =>
      createRelayResponse(
        { ...fields, outcome: "error", error: { code: "BACKEND_ERROR", message: "x" } },
        node,
      ),
    ).toThrow(/payload/);
    expect(() =>
      createRelayResponse({ ...fields, error: { code: "BACKEND_ERROR", message: "x" } }, node),
    ).toThrow(/error/);
    expect(() =>
      createRelayResponse(
        { ...fields, outcome: "error", error: { code: "NOT_A_CODE" as "TIMEOUT", message: "x" } },
        node,
      ),
    ).toThrow(/error\.code/);
    expect(() => createRelayResponse({ ...fields, computeUnits: -1 }, node)).toThrow(/computeUnits/);
  });
});

describe("verifyRelayResponse", () => {
  it("accepts a reordered payload", () => {
    const reordered = copy();
    reordered.payload = Object.fromEntries(Object.entries(reordered.payload as object).reverse());
    const checked = verifyRelayResponse(reordered, expectations);
    expect(checked.ok && checked.value.responseHash).toBe(relayResponseHash(response));
  });

  type Tamper = [name: string, change: (r: Record<string, unknown> & RelayResponse) => void, code: string];
  const tampers: Tamper[] = [
    [
      "requestHash",
      (r) => {
        r.requestHash = "11".repeat(32);
      },
      "INVALID_SIGNATURE",
    ],
    [
      "header.sessionId",
      (r) => {
        r.header.sessionId = "22".repeat(32);
      },
      "INVALID_SIGNATURE",
    ],
    [
      "header.sessionNumber",
      (r) => {
        r.header.sessionNumber = 8;
      },
      "INVALID_SIGNATURE",
    ],
    [
      "payload",
      (r) => {
        (r.payload as { choices: { text: string }[] }).choices[0]!.text = "5";
      },
      "INVALID_SIGNATURE",
    ],
    [
      "usage.inputTokens",
      (r) => {
        r.usage.inputTokens = 3;
      },
      "INVALID_SIGNATURE",
    ],
    [
      "usage.outputTokens",
      (r) => {
        r.usage.outputTokens = 1000;
      },
      "INVALID_SIGNATURE",
    ],
    [
      "usage.images added",
      (r) => {
        r.usage.images = 1;
      },
      "INVALID_SIGNATURE",
    ],
    [
      "computeUnits",
      (r) => {
        r.computeUnits = 500;
      },
      "INVALID_SIGNATURE",
    ],
    [
      "signature",
      (r) => {
        r.signature = flipFirstHexDigit(r.signature);
      },
      "INVALID_SIGNATURE",
    ],
    [
      "node.address",
      (r) => {
        r.node.address = otherNode.address;
      },
      "ADDRESS_MISMATCH",
    ],
    [
      "node.publicKey",
      (r) => {
        r.node.publicKey = otherNode.publicKeyHex;
      },
      "ADDRESS_MISMATCH",
    ],
    [
      "node identity",
      (r) => {
        r.node = { address: otherNode.address, publicKey: otherNode.publicKeyHex };
      },
      "INVALID_SIGNATURE",
    ],
    [
      "outcome",
      (r) => {
        r.outcome = "error";
      },
      "MALFORMED_ENVELOPE",
    ],
    [
      "outcome and error",
      (r) => {
        r.outcome = "error";
        r.error = { code: "BACKEND_ERROR", message: "x" };
        delete r.payload;
      },
      "INVALID_SIGNATURE",
    ],
    [
      "v",
      (r) => {
        r.v = 0 as 1;
      },
      "MALFORMED_ENVELOPE",
    ],
    [
      "extra field",
      (r) => {
        r.nonce = "00";
      },
      "MALFORMED_ENVELOPE",
    ],
    [
      "negative computeUnits",
      (r) => {
        r.computeUnits = -5;
      },
      "MALFORMED_ENVELOPE",
    ],
    [
      "float usage",
      (r) => {
        r.usage.outputTokens = 1.5;
      },
      "MALFORMED_ENVELOPE",
    ],
  ];

  it.each(tampers)("refuses a change of %s", (_name, change, code) => {
    const tampered = copy();
    change(tampered);
    const checked = verifyRelayResponse(tampered);
    expect(checked.ok).toBe(false);
    if (!checked.ok) expect(checked.error.code).toBe(code);
  });

  it("refuses a genuine response that does not meet the gateway's expectations", () => {
    const otherRequestHash = "33".repeat(32);
    const wrongRequest = verifyRelayResponse(response, { ...expectations, requestHash: otherRequestHash });
    expect(!wrongRequest.ok && [wrongRequest.error.code, wrongRequest.error.param]).toEqual([
      "MALFORMED_ENVELOPE",
      "requestHash",
    ]);
    const wrongNode = verifyRelayResponse(response, { ...expectations, nodeAddress: otherNode.address });
    expect(!wrongNode.ok && [wrongNode.error.code, wrongNode.error.param]).toEqual([
      "ADDRESS_MISMATCH",
      "node.address",
    ]);
    const wrongHeader = verifyRelayResponse(response, {
      ...expectations,
      header: { ...header, sessionNumber: 8 },
    });
    expect(!wrongHeader.ok && [wrongHeader.error.code, wrongHeader.error.param]).toEqual([
      "MALFORMED_ENVELOPE",
      "header",
    ]);
    const reorderedHeader = Object.fromEntries(Object.entries(header).reverse()) as SessionHeader;
    expect(verifyRelayResponse(response, { ...expectations, header: reorderedHeader }).ok).toBe(true);
  });

  it("refuses any single-character change of the serialized envelope", () => {
    const json = JSON.stringify(response);
    const original = canonicalJson(response);
    const printableChar = fc.integer({ min: 0x20, max: 0x7e }).map((code) => String.fromCharCode(code));
    fc.assert(
      fc.property(fc.nat({ max: json.length - 1 }), printableChar, (index, char) => {
        fc.pre(json[index] !== char);
        let changed: unknown;
        try {
          changed = JSON.parse(json.slice(0, index) + char + json.slice(index + 1));
        } catch {
          return;
        }
        const checked = verifyRelayResponse(changed);
        if (checked.ok) expect(canonicalJson(changed)).toBe(original);
      }),
      { numRuns: 1000 },
    );
  });

  it("never throws on arbitrary input or arbitrary field values", () => {
    fc.assert(
      fc.property(fc.anything(), (input) => {
        expect(verifyRelayResponse(input, expectations).ok).toBe(false);
      }),
      { numRuns: 500 },
    );
    fc.assert(
      fc.property(fc.constantFrom(...Object.keys(response), "error"), fc.anything(), (key, value) => {
        const tampered = { ...copy(), [key]: value };
        const checked = verifyRelayResponse(tampered);
        if (checked.ok) expect(canonicalJson(tampered)).toBe(canonicalJson(response));
      }),
      { numRuns: 500 },
    );
  });
});

describe("signRelayResponse", () => {
  it("signs what createRelayResponse signs and returns relayResponseHash of it", () => {
    const key = generateKeyPair();
    const fields = {
      requestHash: "b".repeat(64),
      header,
      outcome: "ok",
      payload: { id: "x", choices: [{ index: 0, message: { role: "assistant", content: "hé" } }], n: 1.5 },
      usage: { inputTokens: 3, outputTokens: 4 },
      computeUnits: 9,
    } as unknown as RelayResponseFields;
    const expected = createRelayResponse(fields, key);
    const { response, responseHash } = signRelayResponse(fields, key);
    expect(response).toEqual(expected);
    expect(responseHash).toBe(relayResponseHash(expected));
    expect(verifyRelayResponse(JSON.parse(JSON.stringify(response))).ok).toBe(true);
  });

  it("throws on fields createRelayResponse refuses", () => {
    const key = generateKeyPair();
    const fields = {
      requestHash: "b".repeat(64),
      header,
      outcome: "ok",
      usage: { inputTokens: 0, outputTokens: 0 },
      computeUnits: 0,
    } as unknown as RelayResponseFields;
    expect(() => createRelayResponse(fields, key)).toThrow(TypeError);
    expect(() => signRelayResponse(fields, key)).toThrow(TypeError);
  });
});
