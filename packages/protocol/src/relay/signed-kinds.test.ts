import { describe, expect, it } from "vitest";
import type { z } from "zod";
import { UnsignedNodeAnnouncement } from "../registry/index.js";
import {
  UnsignedClaimAck,
  UnsignedClaimSubmission,
  UnsignedProofAck,
  UnsignedProofSubmission,
  UnsignedStreamCutReceipt,
} from "../settlement-messages/index.js";
import { UnsignedRelayRequest, UnsignedRelayResponse, UnsignedRelayStreamChunk } from "./index.js";

/**
 * Every kind of message the protocol signs, as signed. A signature covers SHA-256 of the
 * canonical JSON of the message alone, with no tag naming its kind: kinds are told apart by their
 * closed sets of fields, which this file holds to.
 */
const SIGNED_KINDS: Record<string, z.ZodObject> = {
  "node announcement": UnsignedNodeAnnouncement,
  "relay request": UnsignedRelayRequest,
  "relay response": UnsignedRelayResponse,
  "stream chunk": UnsignedRelayStreamChunk,
  "claim submission": UnsignedClaimSubmission,
  "proof submission": UnsignedProofSubmission,
  "claim ack": UnsignedClaimAck,
  "proof ack": UnsignedProofAck,
  "stream cut receipt": UnsignedStreamCutReceipt,
};

const fieldsOf = (schema: z.ZodObject) => {
  const all = Object.keys(schema.shape);
  const required = all.filter((key) => !schema.shape[key]!.safeParse(undefined).success);
  return { all, required };
};

describe("signed message kinds", () => {
  it("are all closed: a field a kind does not name is refused", () => {
    for (const [kind, schema] of Object.entries(SIGNED_KINDS)) {
      const { required } = fieldsOf(schema);
      const issues = schema.safeParse({ ...Object.fromEntries(required.map((k) => [k, null])), extra: 1 });
      expect(
        issues.error?.issues.some((i) => i.code === "unrecognized_keys"),
        `${kind} is not closed`,
      ).toBe(true);
    }
  });

  it("never share a message: no kind's required fields all fit another kind and the other way round", () => {
    const kinds = Object.entries(SIGNED_KINDS).map(([kind, schema]) => ({ kind, ...fieldsOf(schema) }));
    expect(kinds.every((k) => k.required.length > 0)).toBe(true);
    for (const a of kinds)
      for (const b of kinds) {
        if (a.kind >= b.kind) continue;
        // A value both kinds accept holds every field either requires and none either lacks.
        const shared =
          a.required.every((key) => b.all.includes(key)) && b.required.every((key) => a.all.includes(key));
        expect(shared, `a ${a.kind} could verify as a ${b.kind}`).toBe(false);
      }
  });
});
