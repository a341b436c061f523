import { type ErrorCode, ErrorCodes, GATEWAY_OWN_CODES, type TokenCounter } from "@pocket-ai/protocol";
import { describe, expect, it } from "vitest";
import { testSession as session, testDispatch, testRoute } from "../../test/support/relay-route.js";
import { clientCodeOf, NODE_REFUSAL_TEXT_MAX, unreachable } from "./attempt-errors.js";
import { judgeRefusal, type RefusalCheck, replanTime } from "./judge-refusal.js";

const now = 1_000_005_000;
const route = testRoute(now);
const request = (body: Record<string, unknown>) => testDispatch(body);
const check = (body: Record<string, unknown>): RefusalCheck => ({
  route,
  request: request(body),
  session,
  now,
});
const short = check({ prompt: "Hello there", max_tokens: 8 });
// 300 words: over the standard tier's 200 input tokens for every tokenizer.
const long = check({ prompt: Array.from({ length: 300 }, () => "word").join(" "), max_tokens: 8 });
// A counter the gateway has for the serving node's model: its counts are the node's own.
const words: TokenCounter = (text) => text.split(/\s+/).filter((w) => w !== "").length;
const exact = (c: RefusalCheck): RefusalCheck => ({ ...c, countInput: words });
const judge = (code: string, signed: boolean, against: RefusalCheck) =>
  judgeRefusal("pokt1node", { code, detail: "says the node", signed }, against);

describe("judging a node's refusal", () => {
  it("holds at most NODE_REFUSAL_TEXT_MAX units of the node's code and detail, however much it sent", () => {
    const huge = `the node says ${"x".repeat(1_000_000)}`;
    for (const code of ["NODE_BUSY", "INPUT_TOO_LONG", "ENGINE_REJECTED", `PAY_ME_${"X".repeat(100_000)}`])
      for (const signed of [true, false]) {
        const refused = judgeRefusal("pokt1node", { code, detail: huge, signed }, short);
        expect(refused.code.length).toBeLessThanOrEqual(NODE_REFUSAL_TEXT_MAX);
        expect(refused.detail.length).toBeLessThanOrEqual(NODE_REFUSAL_TEXT_MAX);
        expect(refused.detail.startsWith("the node says x")).toBe(true);
      }
    // A code of the table is never cut: it is judged as the code it is.
    expect(judgeRefusal("pokt1node", { code: "NODE_BUSY", detail: huge, signed: true }, short).code).toBe(
      "NODE_BUSY",
    );
    // A node's uncoded transport error is its own text too.
    const lost = unreachable("pokt1node", new Error(huge));
    expect(lost.detail.length).toBeLessThanOrEqual(NODE_REFUSAL_TEXT_MAX);
    expect(lost.detail.startsWith("the node says x")).toBe(true);
  });

  it("believes a signed caller-blaming code only when the gateway's recheck agrees", () => {
    expect(judge("INPUT_TOO_LONG", true, long).blame).toBe("caller");
    expect(judge("INPUT_TOO_LONG", true, long).lie).toBeUndefined();
    const disproved = judge("INPUT_TOO_LONG", true, short);
    expect(disproved.blame).toBe("node");
    expect(disproved.lie).toMatch(/passes/);
    expect(judge("INVALID_REQUEST", true, short).lie).toBeDefined();
    // Another code than the one the recheck finds is not believed either.
    expect(judge("OUTPUT_TOO_LONG", true, long).blame).toBe("node");
  });

  it("tells the client what its own recheck found of a believed refusal, never the node's words", () => {
    const believed = judge("INPUT_TOO_LONG", true, exact(long));
    expect(believed.clientDetail).toBe("prompt has 300 input tokens; tier standard allows 200 per prompt");
    expect(believed.param).toBe("prompt");
    expect(believed.unproven).toBeUndefined();
    // The node's detail stays in the operator's record only.
    expect(believed.detail).toBe("says the node");
    const content = Array.from({ length: 300 }, () => "word").join(" ");
    const chatRequest = testDispatch({ messages: [{ role: "user", content }] }, "chat.completions");
    const chat = judge("INPUT_TOO_LONG", true, exact({ ...long, request: chatRequest }));
    expect(chat).toMatchObject({ blame: "caller", param: "messages" });
    expect(chat.clientDetail).toMatch(/have \d+ input tokens; .* allows 200/);
    // Disproved or unsigned: nothing for the client.
    for (const refused of [judge("INPUT_TOO_LONG", true, short), judge("INPUT_TOO_LONG", false, long)])
      expect([refused.clientDetail, refused.param]).toEqual([undefined, undefined]);
  });

  it("takes an INPUT_TOO_LONG it can only bound (no tokenizer of the node's) as unproven, stating the limit, not its bound", () => {
    // 120 words of 11 letters: about 120 tokens for a real tokenizer, 1441 by the UTF-8 bound.
    const wordy = check({
      prompt: Array.from({ length: 120 }, () => "information").join(" "),
      max_tokens: 8,
    });
    const bounded = judge("INPUT_TOO_LONG", true, wordy);
    expect(bounded).toMatchObject({ blame: "caller", unproven: true, param: "prompt" });
    expect(bounded.clientDetail).toBe(
      "the input is longer than the tier's 200 input tokens per prompt by the serving model's tokenizer",
    );
    // With the node's tokenizer the same claim is disproved: a lie, sanctioned.
    expect(judge("INPUT_TOO_LONG", true, exact(wordy))).toMatchObject({ blame: "node" });
    // Over the limit by words, a lower bound of any tokenizer's count: proven without the tokenizer.
    expect(judge("INPUT_TOO_LONG", true, long)).toMatchObject({
      blame: "caller",
      clientDetail: "prompt has 300 input tokens; tier standard allows 200 per prompt",
    });
    expect(judge("INPUT_TOO_LONG", true, long).unproven).toBeUndefined();
    // An engine refusal is unproven too; a confirmed exact count is not.
    expect(judge("ENGINE_REJECTED", true, short).unproven).toBe(true);
    expect(
      judge("OUTPUT_TOO_LONG", true, check({ prompt: "hi", max_tokens: 100_000 })).unproven,
    ).toBeUndefined();
  });

  it("believes a signed ENGINE_REJECTED with a cleaned reason, and sanctions an unsigned one", () => {
    const signed = judgeRefusal(
      "pokt1node",
      {
        code: "ENGINE_REJECTED",
        detail: "context too long for /srv/m/a.gguf\n    at x (/a/b.js:1:1)",
        signed: true,
      },
      short,
    );
    expect(signed.blame).toBe("caller");
    expect(signed.lie).toBeUndefined();
    expect(signed.detail).toBe("context too long for <path>");
    expect(signed.serviceId).toBe("llama-2-13b");
    expect(clientCodeOf(signed)).toBe("ENGINE_REJECTED");
    const unsigned = judge("ENGINE_REJECTED", false, short);
    expect(unsigned.blame).toBe("node");
    expect(unsigned.lie).toMatch(/without signing/);
    expect(clientCodeOf(unsigned)).toBe("INVALID_NODE_RESPONSE");
  });

  it("never believes an unsigned caller-blaming code, nor an unknown code", () => {
    expect(judge("INPUT_TOO_LONG", false, long)).toMatchObject({
      blame: "node",
      lie: expect.stringMatching(/without signing/),
    });
    expect(judge("PAY_ME", false, short)).toMatchObject({
      blame: "node",
      lie: expect.stringMatching(/not a protocol/),
    });
  });

  it("signs again after a signed session refusal; other node troubles are tried elsewhere without sanction", () => {
    expect(judge("SESSION_EXPIRED", true, short).blame).toBe("session");
    expect(judge("SESSION_EXPIRED", false, short).blame).toBe("node");
    expect(judge("NODE_BUSY", true, short)).toMatchObject({ blame: "node", lie: undefined });
    expect(judge("NOT_IN_SESSION", true, short)).toMatchObject({ blame: "node", lie: undefined });
  });

  it("plans the retry for the session after an expired one, and the one before a session not yet begun", () => {
    const expired = judge("SESSION_EXPIRED", true, short);
    expect(replanTime(short, expired)).toBe(Math.max(now, route.header.sessionEnd));
    const early = judge("WRONG_SESSION", true, short);
    expect(replanTime(short, early)).toBe(route.header.sessionStart - 1);
  });

  it("gives the client no 500 and no code a node chose to blame it with, whatever the node sent", () => {
    const codes = [...Object.keys(ErrorCodes), "PAY_ME", "", "__proto__"];
    for (const code of codes) {
      for (const signed of [true, false]) {
        for (const against of [short, long]) {
          for (const targeted of [true, false]) {
            const failure = judge(code, signed, against);
            const client = clientCodeOf(failure, targeted);
            expect(Object.hasOwn(ErrorCodes, client)).toBe(true);
            expect(ErrorCodes[client].status).not.toBe(500);
            if (failure.blame !== "caller" && !targeted) {
              expect(ErrorCodes[client as ErrorCode].status).toBeGreaterThanOrEqual(502);
            }
            // A relay pinned to the node never fails with a code a measuring client excuses it for.
            if (targeted) expect(GATEWAY_OWN_CODES.has(client)).toBe(false);
            else if (failure.blame !== "caller") {
              expect(client).not.toBe("NODE_FAILED");
              // Nor any other code a client reads as the gateway's own trouble.
              if (client !== "NO_NODES_AVAILABLE") expect(GATEWAY_OWN_CODES.has(client)).toBe(false);
            }
          }
        }
      }
    }
  });

  it("gives a pinned relay NODE_FAILED for a node out of reach, unless the gateway's own side failed", () => {
    const refused = Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:1"), { code: "ECONNREFUSED" });
    expect(clientCodeOf(unreachable("pokt1node", refused), true)).toBe("NODE_FAILED");
    // fetch wraps the socket's error: out of descriptors is the gateway's trouble, not the node's.
    const exhausted = new TypeError("fetch failed", {
      cause: Object.assign(new Error("EMFILE"), { code: "EMFILE" }),
    });
    expect(clientCodeOf(unreachable("pokt1node", exhausted), true)).toBe("NO_NODES_AVAILABLE");
    expect(clientCodeOf(unreachable("pokt1node", refused), false)).toBe("NO_NODES_AVAILABLE");
  });
});
