import { describe, expect, it } from "vitest";
import { generateKeyPair } from "../crypto/index.js";
import { ErrorCodes } from "../errors/index.js";
import { createStreamCutReceipt, verifyStreamCutReceipt } from "./cut-receipt.js";

const gateway = generateKeyPair();
const node = generateKeyPair();
const otherNode = generateKeyPair();
const fields = {
  nodeAddress: node.address,
  sessionId: "ab".repeat(32),
  requestHash: "cd".repeat(32),
  chain: "ef".repeat(32),
  outputTokens: 3,
  computeUnits: 282,
  issuedAt: 1_700_000_000_000,
};

describe("verifyStreamCutReceipt", () => {
  it("takes a receipt the relay's gateway signed for this node", () => {
    const receipt = createStreamCutReceipt(fields, gateway);
    expect(verifyStreamCutReceipt(receipt, { nodeAddress: node.address })).toEqual({
      ok: true,
      value: receipt,
    });
  });

  it("tells a gateway that sent a receipt to the wrong node where it belongs, not that its key is wrong", () => {
    const receipt = createStreamCutReceipt(fields, gateway);
    const checked = verifyStreamCutReceipt(receipt, { nodeAddress: otherNode.address });
    expect(checked.ok).toBe(false);
    if (checked.ok) return;
    expect(checked.error).toMatchObject({ code: "ADDRESS_MISMATCH", status: 401, param: "nodeAddress" });
    expect(checked.error.detail).toBe(
      `stream cut receipt is for node ${node.address}, not this one (${otherNode.address})`,
    );
    expect(checked.error.message).not.toBe(ErrorCodes.ADDRESS_MISMATCH.message);
    expect(checked.error.message).not.toMatch(/public key/);
    expect(checked.error.message).toMatch(
      /made out to another node.*Send it to the node its nodeAddress names/,
    );
  });

  it("keeps the code's guidance for a gateway address its key does not own", () => {
    const receipt = createStreamCutReceipt(fields, gateway);
    const forged = { ...receipt, gateway: { ...receipt.gateway, address: otherNode.address } };
    const checked = verifyStreamCutReceipt(forged, { nodeAddress: node.address });
    expect(checked.ok).toBe(false);
    if (checked.ok) return;
    expect(checked.error).toMatchObject({
      code: "ADDRESS_MISMATCH",
      message: ErrorCodes.ADDRESS_MISMATCH.message,
    });
  });
});
