import { describe, expect, it } from "vitest";
import type { Result } from "../errors/index.js";
import { checkRelaySession } from "./check-relay-session.js";
import { deriveSessionHeader, deriveSessionId } from "./session-id.js";
import { SessionParams } from "./session-params.js";

const params = SessionParams.parse({ mode: "time", genesisMs: 0, sessionLengthMs: 1_000, graceMs: 100 });
const header = deriveSessionHeader(params, "pokt1app", "llama-2-13b", 5_500); // session 5: [5000, 6000)
const code = (r: Result<unknown>) => (r.ok ? "ok" : r.error.code);

describe("checkRelaySession", () => {
  it("accepts the current session and the previous one within its grace", () => {
    expect(checkRelaySession(header, params, 5_000, "pokt1app", "llama-2-13b")).toEqual({
      ok: true,
      value: "current",
    });
    expect(checkRelaySession(header, params, 5_999)).toEqual({ ok: true, value: "current" });
    expect(checkRelaySession(header, params, 6_099)).toEqual({ ok: true, value: "grace" });
  });

  it("refuses an expired session with the session it now is", () => {
    const r = checkRelaySession(header, params, 6_100);
    expect(code(r)).toBe("SESSION_EXPIRED");
    expect(r.ok ? "" : r.error.detail).toContain("session 6");
  });

  it("accepts the next session up to the grace early (the sender's clock runs ahead)", () => {
    expect(checkRelaySession(header, params, 4_999)).toEqual({ ok: true, value: "early" });
    expect(checkRelaySession(header, params, 4_900)).toEqual({ ok: true, value: "early" });
  });

  it("accepts a session for every clock offset up to the grace, around its start and its end", () => {
    for (let offset = -100; offset <= 100; offset += 10) {
      for (const signedAt of [5_000, 5_999]) {
        expect(code(checkRelaySession(header, params, signedAt + offset))).toBe("ok");
      }
    }
  });

  it("refuses a session further ahead than the grace, another application or service", () => {
    expect(code(checkRelaySession(header, params, 4_899))).toBe("WRONG_SESSION");
    expect(code(checkRelaySession(header, params, 5_500, "pokt1else"))).toBe("WRONG_SESSION");
    expect(code(checkRelaySession(header, params, 5_500, undefined, "mistral-7b"))).toBe("WRONG_SESSION");
  });

  it("refuses a header that is not internally consistent", () => {
    const forgedWindow = { ...header, sessionEnd: header.sessionEnd + 10_000 };
    expect(code(checkRelaySession(forgedWindow, params, 5_500))).toBe("WRONG_SESSION");
    const forgedId = { ...header, sessionId: "00".repeat(32) };
    expect(code(checkRelaySession(forgedId, params, 5_500))).toBe("WRONG_SESSION");
    const renumbered = {
      ...header,
      sessionNumber: 6,
      sessionId: deriveSessionId("pokt1app", "llama-2-13b", 6),
    };
    expect(code(checkRelaySession(renumbered, params, 6_050))).toBe("WRONG_SESSION");
  });

  it("refuses a malformed header as an invalid request and never throws", () => {
    const junk = { ...header, sessionId: "not hex" };
    expect(code(checkRelaySession(junk, params, 5_500))).toBe("INVALID_REQUEST");
    expect(code(checkRelaySession(null as never, params, 5_500))).toBe("INVALID_REQUEST");
    const huge = {
      ...header,
      sessionNumber: Number.MAX_SAFE_INTEGER,
      sessionId: deriveSessionId("pokt1app", "llama-2-13b", Number.MAX_SAFE_INTEGER),
    };
    expect(code(checkRelaySession(huge, params, 5_500))).toBe("WRONG_SESSION");
  });

  it("works for height-based sessions", () => {
    const hp = SessionParams.parse({ mode: "height", blocksPerSession: 4, graceBlocks: 1 });
    const h = deriveSessionHeader(hp, "pokt1app", "sd-xl", 9); // session 2: [8, 12)
    expect(code(checkRelaySession(h, hp, 11))).toBe("ok");
    expect(code(checkRelaySession(h, hp, 12))).toBe("ok");
    expect(code(checkRelaySession(h, hp, 13))).toBe("SESSION_EXPIRED");
  });
});
