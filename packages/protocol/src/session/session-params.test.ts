import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { deriveSessionHeader, deriveSessionId } from "./session-id.js";
import { SessionParams, sessionNumberAt, sessionWindow } from "./session-params.js";

const timeParams = SessionParams.parse({ mode: "time", genesisMs: 1_000, sessionLengthMs: 100, graceMs: 10 });
const heightParams = SessionParams.parse({ mode: "height", blocksPerSession: 4, graceBlocks: 1 });

describe("session windows", () => {
  it("number and window agree for time and height sessions", () => {
    expect(sessionNumberAt(timeParams, 1_000)).toBe(0);
    expect(sessionNumberAt(timeParams, 1_099)).toBe(0);
    expect(sessionNumberAt(timeParams, 1_100)).toBe(1);
    expect(sessionWindow(timeParams, 2)).toEqual({ start: 1_200, end: 1_300 });
    expect(sessionNumberAt(heightParams, 15)).toBe(3);
    expect(sessionWindow(heightParams, 3)).toEqual({ start: 12, end: 16 });
  });

  it("every instant lies in the half-open window of its session", () => {
    fc.assert(
      fc.property(
        fc.nat({ max: 1e12 }),
        fc.integer({ min: 1, max: 1e8 }),
        fc.nat({ max: 1e12 }),
        (genesisMs, sessionLengthMs, offset) => {
          const params = SessionParams.parse({ mode: "time", genesisMs, sessionLengthMs, graceMs: 0 });
          const t = genesisMs + offset;
          const w = sessionWindow(params, sessionNumberAt(params, t));
          expect(w.start <= t && t < w.end).toBe(true);
          expect(w.end - w.start).toBe(sessionLengthMs);
        },
      ),
    );
  });

  it("refuses times before genesis and invalid session numbers", () => {
    expect(() => sessionNumberAt(timeParams, 999)).toThrow(RangeError);
    expect(() => sessionNumberAt(timeParams, 1.5)).toThrow(RangeError);
    expect(() => sessionWindow(timeParams, -1)).toThrow(RangeError);
    expect(() => sessionWindow(heightParams, Number.MAX_SAFE_INTEGER)).toThrow(RangeError);
    expect(
      SessionParams.safeParse({ mode: "time", genesisMs: 0, sessionLengthMs: 0, graceMs: 0 }).success,
    ).toBe(false);
  });
});

describe("session ids and headers", () => {
  it("the id is a domain-tagged hash of application, service and number", () => {
    const id = deriveSessionId("pokt1app", "llama-2-13b", 7);
    expect(id).toMatch(/^[0-9a-f]{64}$/);
    expect(deriveSessionId("pokt1app", "llama-2-13b", 7)).toBe(id);
    expect(deriveSessionId("pokt1app", "llama-2-13b", 8)).not.toBe(id);
    expect(deriveSessionId("pokt1app", "mistral-7b", 7)).not.toBe(id);
    expect(deriveSessionId("pokt1other", "llama-2-13b", 7)).not.toBe(id);
  });

  it("derives the current session's header", () => {
    const h = deriveSessionHeader(timeParams, "pokt1app", "llama-2-13b", 1_250);
    expect(h).toEqual({
      applicationAddress: "pokt1app",
      serviceId: "llama-2-13b",
      sessionNumber: 2,
      sessionId: deriveSessionId("pokt1app", "llama-2-13b", 2),
      sessionStart: 1_200,
      sessionEnd: 1_300,
    });
  });
});
