import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { z } from "zod";
import { generateKeyPair } from "../crypto/index.js";
import { acceptsRelayRequest, acceptsRelayResponse } from "./envelope-fast.js";
import { RelayRequest, signRelayRequest, UnsignedRelayRequest, verifyRelayRequest } from "./relay-request.js";
import {
  RelayResponse,
  signRelayResponse,
  UnsignedRelayResponse,
  verifyRelayResponse,
} from "./relay-response.js";
import { withoutSignature } from "./signing-key.js";

const gateway = generateKeyPair();
const node = generateKeyPair();

const header = fc.record({
  applicationAddress: fc.constantFrom(generateKeyPair().address, "app-1", "x".repeat(128)),
  serviceId: fc.constantFrom("llama-2-13b", "mistral-7b", "a", "sd.xl-1"),
  sessionNumber: fc.nat(),
  sessionId: fc.constantFrom("0f".repeat(32), "ab".repeat(32)),
  sessionStart: fc.nat(),
  sessionEnd: fc.nat(),
});

const payload = fc.oneof(
  fc.jsonValue().map((v) => JSON.parse(JSON.stringify(v)) as unknown),
  fc.constant({ model: "llama-2-13b", messages: [{ role: "user", content: "hi" }], max_tokens: 8 }),
);

const validRequest = fc
  .record({
    header,
    tier: fc.constantFrom("standard", "batch", "A.b_c-1"),
    operation: fc.constantFrom("completions", "chat.completions", "embeddings", "images.generations"),
    payload,
    issuedAt: fc.nat(),
    target: fc.option(fc.constant(node.address), { nil: undefined }),
    inputCount: fc.option(
      fc.record({
        tokenizer: fc.constantFrom("llama-2", "mistral", "a", "x.y_z-9"),
        promptTokens: fc.array(fc.nat(), { minLength: 1, maxLength: 4 }),
      }),
      { nil: undefined },
    ),
  })
  .map(({ target, inputCount, ...fields }) => {
    const { request } = signRelayRequest(
      {
        ...fields,
        ...(target === undefined ? {} : { target }),
        ...(inputCount === undefined ? {} : { inputCount }),
      },
      gateway,
    );
    // What a node receives: JSON on the wire.
    return JSON.parse(JSON.stringify(request)) as Record<string, unknown>;
  });

const usage = fc
  .record({
    inputTokens: fc.nat(),
    outputTokens: fc.nat(),
    images: fc.option(fc.nat(), { nil: undefined }),
  })
  .map(({ images, ...u }) => (images === undefined ? u : { ...u, images }));

const validResponse = fc
  .record({
    header,
    ok: fc.boolean(),
    payload,
    usage,
    computeUnits: fc.nat(),
    detail: fc.option(fc.string({ maxLength: 20 }), { nil: undefined }),
  })
  .map(({ ok, payload, detail, ...rest }) => {
    const fields = ok
      ? { ...rest, requestHash: "cd".repeat(32), outcome: "ok" as const, payload }
      : {
          ...rest,
          requestHash: "cd".repeat(32),
          outcome: "error" as const,
          error: {
            code: "BACKEND_ERROR" as const,
            message: "the engine failed",
            ...(detail === undefined ? {} : { detail }),
          },
        };
    const { response } = signRelayResponse(fields, node);
    return JSON.parse(JSON.stringify(response)) as Record<string, unknown>;
  });

/** Values that each break some field's rule, and some that fit another's. */
const oddValue = fc.constantFrom<unknown>(
  undefined,
  null,
  -1,
  1.5,
  2 ** 53,
  Number.NaN,
  Number.POSITIVE_INFINITY,
  0,
  "",
  "x".repeat(129),
  "Llama-2",
  "x".repeat(33),
  [3, 1.5],
  [-1],
  Array.from({ length: 4097 }, () => 1),
  "x".repeat(4097),
  "AB".repeat(32),
  "ab".repeat(32),
  "ab".repeat(64),
  `03${"ab".repeat(32)}`,
  "llama-2-13b",
  "ok",
  "error",
  "chat.completions",
  "BACKEND_ERROR",
  "NOT_A_CODE",
  gateway.address,
  gateway.address.toUpperCase(),
  `${gateway.address.slice(0, -1)}x`,
  [],
  {},
  [1, undefined],
  { nested: Number.NaN },
  new Date(0),
  Object.create({ inherited: 1 }),
  1,
);

/** A copy of `value` with `path` set to `to` (or deleted when `remove`). */
function mutate(value: Record<string, unknown>, path: string[], to: unknown, remove: boolean) {
  const copy = structuredClone(value);
  let at: Record<string, unknown> = copy;
  for (const key of path.slice(0, -1)) {
    const next = at[key];
    if (typeof next !== "object" || next === null) return copy;
    at[key] = { ...(next as Record<string, unknown>) };
    at = at[key] as Record<string, unknown>;
  }
  const last = path[path.length - 1] as string;
  if (remove) delete at[last];
  else at[last] = to;
  return copy;
}

const requestPaths = [
  ["v"],
  ["header"],
  ["tier"],
  ["operation"],
  ["payload"],
  ["nonce"],
  ["issuedAt"],
  ["gateway"],
  ["target"],
  ["inputCount"],
  ["signature"],
  ["extra"],
  ["inputCount", "tokenizer"],
  ["inputCount", "promptTokens"],
  ["inputCount", "extra"],
  ["header", "applicationAddress"],
  ["header", "serviceId"],
  ["header", "sessionNumber"],
  ["header", "sessionId"],
  ["header", "sessionStart"],
  ["header", "sessionEnd"],
  ["header", "extra"],
  ["gateway", "address"],
  ["gateway", "publicKey"],
  ["gateway", "extra"],
  ["payload", "model"],
];

const responsePaths = [
  ["v"],
  ["requestHash"],
  ["header"],
  ["node"],
  ["outcome"],
  ["payload"],
  ["error"],
  ["usage"],
  ["computeUnits"],
  ["signature"],
  ["extra"],
  ["header", "sessionId"],
  ["header", "sessionEnd"],
  ["node", "address"],
  ["node", "publicKey"],
  ["usage", "inputTokens"],
  ["usage", "outputTokens"],
  ["usage", "images"],
  ["usage", "extra"],
  ["error", "code"],
  ["error", "message"],
  ["error", "detail"],
  ["error", "extra"],
];

/**
 * The check may only say yes when the schema does AND returns the value as it is: then skipping
 * the schema changes nothing (the hash, the signature and every field read stay the same).
 */
function expectNoLooserThan(schema: z.ZodType, accepted: boolean, value: unknown) {
  if (!accepted) return;
  const parsed = schema.safeParse(value);
  expect(parsed.success).toBe(true);
  expect(parsed.data).toStrictEqual(value);
}

describe("hand-written envelope checks", () => {
  it("accept every request and response the signers make, signed and unsigned", () => {
    fc.assert(
      fc.property(validRequest, validResponse, (request, response) => {
        expect(acceptsRelayRequest(request, true)).toBe(true);
        expect(acceptsRelayRequest(withoutSignature(request), false)).toBe(true);
        expect(acceptsRelayResponse(response, true)).toBe(true);
        expect(acceptsRelayResponse(withoutSignature(response), false)).toBe(true);
        // A signed envelope is not an unsigned one, nor the other way round.
        expect(acceptsRelayRequest(request, false)).toBe(false);
        expect(acceptsRelayResponse(withoutSignature(response), true)).toBe(false);
      }),
      { numRuns: 200 },
    );
  });

  it("never accept a request the schema refuses or would change", () => {
    fc.assert(
      fc.property(
        validRequest,
        fc.constantFrom(...requestPaths),
        oddValue,
        fc.boolean(),
        fc.boolean(),
        (request, path, to, remove, signed) => {
          const base = signed ? request : withoutSignature(request);
          const changed = mutate(base, path, to, remove);
          expectNoLooserThan(
            signed ? RelayRequest : UnsignedRelayRequest,
            acceptsRelayRequest(changed, signed),
            changed,
          );
        },
      ),
      { numRuns: 3000 },
    );
  });

  it("never accept a response the schema refuses or would change", () => {
    fc.assert(
      fc.property(
        validResponse,
        fc.constantFrom(...responsePaths),
        oddValue,
        fc.boolean(),
        fc.boolean(),
        (response, path, to, remove, signed) => {
          const base = signed ? response : withoutSignature(response);
          const changed = mutate(base, path, to, remove);
          expectNoLooserThan(
            signed ? RelayResponse : UnsignedRelayResponse,
            acceptsRelayResponse(changed, signed),
            changed,
          );
        },
      ),
      { numRuns: 3000 },
    );
  });

  it("leave refusals to the schema: a broken field reads as before, with its path", () => {
    const request = fc.sample(validRequest, { numRuns: 1, seed: 7 })[0] as Record<string, unknown>;
    const broken = mutate(request, ["header", "sessionId"], "AB".repeat(32), false);
    const checked = verifyRelayRequest(broken);
    expect(checked.ok).toBe(false);
    if (!checked.ok) {
      expect(checked.error.code).toBe("MALFORMED_ENVELOPE");
      expect(checked.error.param).toBe("header.sessionId");
    }
    const response = fc.sample(validResponse, { numRuns: 1, seed: 7 })[0] as Record<string, unknown>;
    const noUsage = mutate(response, ["usage", "inputTokens"], -1, false);
    const verified = verifyRelayResponse(noUsage);
    expect(verified.ok).toBe(false);
    if (!verified.ok) expect(verified.error.param).toBe("usage.inputTokens");
  });
});
