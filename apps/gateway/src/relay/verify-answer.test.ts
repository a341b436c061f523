import { encodePng } from "@pocket-ai/png";
import {
  ChatCompletionChunk,
  DEFAULT_CATALOG,
  generateKeyPair,
  type KeyPair,
  normalizeFinishReasons,
  resolveModelName,
  signRelayResponse,
} from "@pocket-ai/protocol";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { testDispatch, testRoute } from "../../test/support/relay-route.js";
import { answerLimits } from "./relay-envelope.js";
import { believedUsage, DeliveredText, routeTokens } from "./route-tokens.js";
import { chunkOffSchema, imagesMismatch, plainChatChunk, verifyAnswer } from "./verify-answer.js";

/** A node's signed answer as it arrives over the wire (JSON), for `route` and `requestHash`. */
const signedAnswer = (
  route: ReturnType<typeof testRoute>,
  requestHash: string,
  node: KeyPair,
  answer: { payload: Record<string, unknown>; usage: Record<string, number>; computeUnits: number },
) =>
  JSON.parse(
    JSON.stringify(
      signRelayResponse(
        {
          requestHash,
          header: route.header,
          outcome: "ok",
          payload: answer.payload,
          usage: { inputTokens: 0, outputTokens: 0, ...answer.usage },
          computeUnits: answer.computeUnits,
        },
        node,
      ).response,
    ),
  );

const piece = {
  id: "chatcmpl-1",
  object: "chat.completion.chunk",
  created: 1_700_000_000,
  model: "m",
  choices: [{ index: 0, delta: { content: " the" }, finish_reason: null }],
};

// Values a field may take: right, wrong in type, absent, null, out of range.
const anyValue = fc.constantFrom<unknown>(
  undefined,
  null,
  "",
  "x",
  "assistant",
  "user",
  "chat.completion.chunk",
  "stop",
  0,
  -1,
  1.5,
  2 ** 60,
  true,
  [],
  {},
  [{ index: 0 }],
  { content: "x" },
);

const chunkLike = fc.record(
  {
    id: anyValue,
    object: anyValue,
    created: anyValue,
    model: anyValue,
    usage: anyValue,
    system_fingerprint: anyValue,
    choices: fc.oneof(
      anyValue,
      fc.array(
        fc.record(
          {
            index: anyValue,
            finish_reason: anyValue,
            logprobs: anyValue,
            delta: fc.oneof(
              anyValue,
              fc.record(
                { role: anyValue, content: anyValue, refusal: anyValue, tool_calls: anyValue },
                { requiredKeys: [] },
              ),
            ),
          },
          { requiredKeys: [] },
        ),
        { maxLength: 3 },
      ),
    ),
  },
  { requiredKeys: [] },
);

describe("the plain chat chunk check", () => {
  it("takes the common content piece without the schema", () => {
    expect(plainChatChunk(piece)).toBe(true);
    expect(
      plainChatChunk({
        ...piece,
        choices: [{ index: 0, delta: { role: "assistant" }, finish_reason: null }],
      }),
    ).toBe(true);
    expect(chunkOffSchema("chat.completions", piece)).toBeUndefined();
  });

  it("accepts only chunks the schema accepts", () => {
    const variants = fc.oneof(
      chunkLike,
      // The common piece with one field changed, so that most variants are near the plain shape.
      fc
        .tuple(fc.constantFrom("id", "object", "created", "model", "usage", "choices"), anyValue)
        .map(([key, value]) => ({ ...piece, [key]: value })),
      fc
        .tuple(fc.constantFrom("index", "finish_reason", "logprobs", "delta"), anyValue)
        .map(([key, value]) => ({
          ...piece,
          choices: [{ ...piece.choices[0], [key]: value }],
        })),
      fc.tuple(fc.constantFrom("role", "content", "refusal", "tool_calls"), anyValue).map(([key, value]) => ({
        ...piece,
        choices: [{ ...piece.choices[0], delta: { [key]: value } }],
      })),
    );
    fc.assert(
      fc.property(variants, (chunk) => {
        if (plainChatChunk(chunk))
          expect(ChatCompletionChunk.safeParse(normalizeFinishReasons(chunk)).success).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it("leaves off-schema chunks to the schema, which names what is wrong", () => {
    expect(chunkOffSchema("chat.completions", { ...piece, created: -1 })?.detail).toMatch(/created/);
    expect(
      chunkOffSchema("chat.completions", {
        ...piece,
        choices: [{ index: 0, delta: { role: "user" }, finish_reason: null }],
      }),
    ).toEqual({ reason: "SCHEMA", detail: "chunk off-schema at choices.0.delta.role (invalid_value)" });
  });
});

describe("verifyAnswer: the choices a text answer holds", () => {
  const node = generateKeyPair();
  const header = testRoute(1_000_005_000).header;
  const requestHash = "b".repeat(64);
  const limits = { maxOutputTokens: 60, choices: 4, maxImages: 0, maxComputeUnits: 100, inputTokens: 3 };
  const answerWith = (indexes: number[]) =>
    signRelayResponse(
      {
        requestHash,
        header,
        outcome: "ok",
        payload: {
          id: "cmpl-1",
          object: "text_completion",
          created: 1_700_000_000,
          model: "m",
          choices: indexes.map((index) => ({ index, text: " hi", logprobs: null, finish_reason: "stop" })),
          usage: { prompt_tokens: 3, completion_tokens: indexes.length, total_tokens: 3 + indexes.length },
        },
        usage: { inputTokens: 3, outputTokens: indexes.length },
        computeUnits: 4,
      },
      node,
    ).response;
  const verify = (indexes: number[]) =>
    verifyAnswer(JSON.parse(JSON.stringify(answerWith(indexes))), {
      requestHash,
      nodeAddress: node.address,
      header,
      operation: "completions",
      limits,
    });

  it("accepts prompts × n choices numbered 0…k-1 in any order", () => {
    expect(verify([0, 1, 2, 3])._tag).toBe("VerifiedAnswer");
    expect(verify([2, 0, 3, 1])._tag).toBe("VerifiedAnswer");
  });

  it("refuses, under the node's valid signature, a batch answered in part, a choice twice or out of range", () => {
    for (const [indexes, detail] of [
      [[0], "the answer holds 1 choices; the request asked for 4 (prompts × n)"],
      [[0, 1, 2, 3, 4], "the answer holds 5 choices; the request asked for 4 (prompts × n)"],
      [[0, 1, 1, 3], "the answer holds choice 1 twice"],
      [[0, 1, 2, 7], "the answer holds a choice numbered 7; choices are numbered 0 to 3"],
    ] as const) {
      expect(verify([...indexes])).toMatchObject({ _tag: "InvalidNodeResponse", detail });
    }
  });
});

describe("verifyAnswer: chat logprobs", () => {
  const node = generateKeyPair();
  const route = testRoute(1_000_005_000);
  const requestHash = "d".repeat(64);
  const entry = (token: string, alternatives: number) => ({
    token,
    logprob: -0.5,
    bytes: [...Buffer.from(token)],
    top_logprobs: Array.from({ length: alternatives }, (_, i) => ({
      token: `${token}${i}`,
      logprob: -1 - i,
      bytes: [...Buffer.from(`${token}${i}`)],
    })),
  });
  /** A signed chat answer whose tokens list `alternatives` each, for a request with this body. */
  const verifyChat = (body: Record<string, unknown>, alternatives: number) =>
    verifyAnswer(
      signedAnswer(route, requestHash, node, {
        payload: {
          id: "chatcmpl-1",
          object: "chat.completion",
          created: 1_700_000_000,
          model: "m",
          choices: [
            {
              index: 0,
              message: { role: "assistant", content: "Hi there" },
              logprobs: { content: [entry("Hi", alternatives), entry(" there", alternatives)] },
              finish_reason: "stop",
            },
          ],
        },
        usage: { inputTokens: 3, outputTokens: 2 },
        computeUnits: 1,
      }),
      {
        requestHash,
        nodeAddress: node.address,
        header: route.header,
        operation: "chat.completions",
        limits: answerLimits(
          route,
          testDispatch(
            { messages: [{ role: "user", content: "Hi" }], max_tokens: 16, ...body },
            "chat.completions",
          ),
        ),
      },
    );

  it("accepts up to top_logprobs alternatives per token, none when it is absent", () => {
    expect(verifyChat({ logprobs: true, top_logprobs: 2 }, 2)._tag).toBe("VerifiedAnswer");
    expect(verifyChat({ logprobs: true, top_logprobs: 2 }, 1)._tag).toBe("VerifiedAnswer");
    expect(verifyChat({ logprobs: true }, 0)._tag).toBe("VerifiedAnswer");
  });

  it("refuses, under the node's valid signature, more alternatives than asked (OpenAI lists at most top_logprobs)", () => {
    expect(verifyChat({ logprobs: true, top_logprobs: 2 }, 3)).toMatchObject({
      _tag: "InvalidNodeResponse",
      detail: "choice 0 lists 3 top_logprobs for a token; the request asked for 2",
    });
    expect(verifyChat({ logprobs: true }, 1)).toMatchObject({
      _tag: "InvalidNodeResponse",
      detail: "choice 0 lists 1 top_logprobs for a token; the request asked for 0",
    });
  });
});

describe("verifyAnswer: the weight a node may sign", () => {
  const node = generateKeyPair();
  const now = 1_000_005_000;
  const route = testRoute(now);
  const requestHash = "c".repeat(64);
  const perCall = route.servedTier.computeUnitsPerRelay;
  const signed = (payload: Record<string, unknown>, computeUnits: number, usage: Record<string, number>) =>
    signedAnswer(route, requestHash, node, { payload, usage, computeUnits });
  const completion = (prompts: number) => ({
    id: "cmpl-1",
    object: "text_completion",
    created: 1_700_000_000,
    model: "m",
    choices: Array.from({ length: prompts }, (_, index) => ({
      index,
      text: " ok",
      logprobs: null,
      finish_reason: "stop",
    })),
  });
  const verifyText = (prompts: number, computeUnits: number) => {
    const prompt = prompts === 1 ? "Say ok" : Array.from({ length: prompts }, () => "Say ok");
    return verifyAnswer(
      signed(completion(prompts), computeUnits, { inputTokens: 3, outputTokens: prompts }),
      {
        requestHash,
        nodeAddress: node.address,
        header: route.header,
        operation: "completions",
        limits: answerLimits(route, testDispatch({ prompt, max_tokens: 16 })),
      },
    );
  };

  it("text: at most the tier's per-call weight, a batch as that many calls", () => {
    expect(verifyText(1, perCall)._tag).toBe("VerifiedAnswer");
    expect(verifyText(1, 1)._tag).toBe("VerifiedAnswer");
    expect(verifyText(3, 3 * perCall)._tag).toBe("VerifiedAnswer");
    expect(verifyText(1, perCall + 1)).toMatchObject({
      _tag: "InvalidNodeResponse",
      detail: `claims ${perCall + 1} compute units; at most ${perCall} were possible`,
    });
    expect(verifyText(3, 3 * perCall + 1)._tag).toBe("InvalidNodeResponse");
  });

  const sd = resolveModelName(DEFAULT_CATALOG, "stable-diffusion");
  if (!sd.ok || sd.value.kind !== "image") throw new Error("stable-diffusion is not an image model");
  const imageRoute = { ...route, servedServiceId: sd.value.service.id, servedTier: sd.value.tier };
  const { standardWidth, standardHeight } = sd.value.tier.limits;
  const perImage = sd.value.tier.computeUnitsPerRelay;
  const picture = (width: number, height: number) =>
    Buffer.from(encodePng({ width, height, data: new Uint8Array(width * height * 4).fill(120) })).toString(
      "base64",
    );
  /** As an attempt checks an image answer: `verifyAnswer`, then its PNGs (`imagesMismatch`). */
  const verifyImages = async (
    body: Record<string, unknown>,
    made: number,
    computeUnits: number,
    image?: (i: number) => string,
  ) => {
    const limits = answerLimits(imageRoute, {
      ...testDispatch({ prompt: "a cat", ...body }, "images.generations"),
      target: sd.value,
    });
    const { width, height } = limits.imageSize!;
    const data = Array.from({ length: made }, (_, i) => ({ b64_json: image?.(i) ?? picture(width, height) }));
    const payload = { created: 1, data };
    const verified = verifyAnswer(signed(payload, computeUnits, { images: made }), {
      requestHash,
      nodeAddress: node.address,
      header: imageRoute.header,
      operation: "images.generations",
      limits,
    });
    if (verified._tag !== "VerifiedAnswer") return { limits, verified };
    const wrong = await imagesMismatch(verified.payload, limits);
    return {
      limits,
      verified: wrong === undefined ? verified : { _tag: "InvalidNodeResponse", detail: wrong },
    };
  };

  it("images: the standard images of the size asked, not of the tier's largest", async () => {
    expect((await verifyImages({ size: "512x512" }, 1, perImage)).verified._tag).toBe("VerifiedAnswer");
    expect((await verifyImages({ size: "1024x1024" }, 1, 4 * perImage)).verified._tag).toBe("VerifiedAnswer");
    expect((await verifyImages({ size: "512x512", n: 2 }, 2, 2 * perImage)).verified._tag).toBe(
      "VerifiedAnswer",
    );
    expect((await verifyImages({ size: "512x512" }, 1, 4 * perImage)).verified).toMatchObject({
      _tag: "InvalidNodeResponse",
      detail: `claims ${4 * perImage} compute units; at most ${perImage} were possible`,
    });
  });

  it("images: each a whole PNG of the size asked (the tier's standard size when none was)", async () => {
    expect((await verifyImages({}, 1, perImage)).limits.imageSize).toEqual({
      width: standardWidth,
      height: standardHeight,
    });
    expect((await verifyImages({}, 1, perImage)).verified._tag).toBe("VerifiedAnswer");
    expect(
      (await verifyImages({ size: "512x512" }, 1, perImage, () => picture(256, 256))).verified,
    ).toMatchObject({
      _tag: "InvalidNodeResponse",
      detail: "image 0 is 256x256, not the 512x512 asked for",
    });
    const whole = picture(512, 512);
    const cut = Buffer.from(whole, "base64").subarray(0, 60).toString("base64");
    expect(
      (await verifyImages({ size: "512x512", n: 2 }, 2, 2 * perImage, (i) => (i === 0 ? whole : cut)))
        .verified,
    ).toMatchObject({
      _tag: "InvalidNodeResponse",
      detail: expect.stringMatching(/^image 1 does not end with the IEND chunk/),
    });
    expect(
      (await verifyImages({ size: "512x512" }, 1, perImage, () => "iVBORw0KGgo=")).verified,
    ).toMatchObject({
      _tag: "InvalidNodeResponse",
      detail: expect.stringMatching(/^image 0 truncated PNG/),
    });
  });

  it("images: the client gets the checked pictures and nothing else the node signed", async () => {
    const limits = answerLimits(imageRoute, {
      ...testDispatch({ prompt: "a cat", size: "512x512" }, "images.generations"),
      target: sd.value,
    });
    const b64 = picture(512, 512);
    const payload = {
      created: 7,
      tracker: "https://attacker.example/pixel",
      data: [
        { b64_json: b64, url: "https://attacker.example/x.png", revised_prompt: "visit attacker.example" },
      ],
    };
    const verified = verifyAnswer(signed(payload, perImage, { images: 1 }), {
      requestHash,
      nodeAddress: node.address,
      header: imageRoute.header,
      operation: "images.generations",
      limits,
    });
    expect(verified._tag).toBe("VerifiedAnswer");
    if (verified._tag !== "VerifiedAnswer") return;
    expect(verified.payload).toEqual({ created: 7, data: [{ b64_json: b64 }] });
    expect(await imagesMismatch(verified.payload, limits)).toBeUndefined();
  });

  it("images: exactly the images asked for, and that count is what is billed", async () => {
    expect((await verifyImages({ size: "512x512" }, 0, perImage)).verified).toMatchObject({
      _tag: "InvalidNodeResponse",
      detail: "returned 0 images; 1 were asked",
    });
    expect((await verifyImages({ size: "512x512", n: 2 }, 1, perImage)).verified._tag).toBe(
      "InvalidNodeResponse",
    );
    expect((await verifyImages({ size: "512x512", n: 2 }, 3, 2 * perImage)).verified._tag).toBe(
      "InvalidNodeResponse",
    );
    const { limits } = await verifyImages({ size: "1024x1024", n: 2 }, 2, 8 * perImage);
    const text = new DeliveredText();
    const tokens = routeTokens(imageRoute);
    const request = testDispatch({ prompt: "a cat" }, "images.generations");
    expect(
      believedUsage(
        { inputTokens: 0, outputTokens: 0, images: 8 },
        text,
        imageRoute,
        request,
        tokens,
        limits,
      ),
    ).toEqual({ inputTokens: 0, outputTokens: 0, images: 2 });
  });
});

describe("verifyAnswer: a node serving a cheaper tier than it registered", () => {
  // A route under llama-2-13b's standard tier (750 per call) for a request that sold a batch tier
  // (500): routing never makes one (it names the batch tier), and this check holds if it ever did.
  const node = generateKeyPair();
  const now = 1_000_005_000;
  const route = testRoute(now);
  const requestHash = "d".repeat(64);
  const sold = (
    model: string,
    operation: "completions" | "images.generations",
    body: Record<string, unknown>,
  ) => {
    const target = resolveModelName(DEFAULT_CATALOG, model);
    if (!target.ok) throw new Error(`${model} is not in the catalog`);
    return { ...testDispatch(body, operation), target: target.value };
  };
  const completion = (prompts: number) => ({
    id: "cmpl-1",
    object: "text_completion",
    created: 1_700_000_000,
    model: "m",
    choices: Array.from({ length: prompts }, (_, index) => ({
      index,
      text: " ok",
      logprobs: null,
      finish_reason: "stop",
    })),
  });
  const verifyText = (model: string, prompts: number, computeUnits: number) => {
    const prompt = prompts === 1 ? "Say ok" : Array.from({ length: prompts }, () => "Say ok");
    return verifyAnswer(
      signedAnswer(route, requestHash, node, {
        payload: completion(prompts),
        usage: { inputTokens: 3, outputTokens: prompts },
        computeUnits,
      }),
      {
        requestHash,
        nodeAddress: node.address,
        header: route.header,
        operation: "completions",
        limits: answerLimits(route, sold(model, "completions", { prompt, max_tokens: 16 })),
      },
    );
  };

  it.each(["quality-gpt-3.5:batch", "llama-2-13b:batch"])(
    "%s: refuses (INVALID_NODE_RESPONSE) a weight above the 500 sold, even under a heavier served tier",
    (model) => {
      expect(verifyText(model, 1, 500)._tag).toBe("VerifiedAnswer");
      const over = verifyText(model, 1, 750);
      expect(over).toMatchObject({
        _tag: "InvalidNodeResponse",
        code: "INVALID_NODE_RESPONSE",
        detail: "claims 750 compute units; at most 500 were possible",
      });
      // A batch of prompts: that many calls of the tier sold.
      expect(verifyText(model, 3, 1500)._tag).toBe("VerifiedAnswer");
      expect(verifyText(model, 3, 1501)._tag).toBe("InvalidNodeResponse");
    },
  );

  it("images: the standard images asked for, at the sold tier's weight per image", () => {
    const standard = resolveModelName(DEFAULT_CATALOG, "stable-diffusion:standard");
    if (!standard.ok) throw new Error("stable-diffusion is not in the catalog");
    const imageRoute = { ...route, servedServiceId: "stable-diffusion", servedTier: standard.value.tier };
    const limits = answerLimits(
      imageRoute,
      sold("stable-diffusion:batch", "images.generations", { prompt: "a cat", size: "1024x1024" }),
    );
    expect(limits.maxComputeUnits).toBe(4 * 12_000);
  });
});
