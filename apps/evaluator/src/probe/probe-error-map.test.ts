import { APIError } from "openai";
import { describe, expect, it } from "vitest";
import { probeFailureOf } from "./probe-error-map.js";

const answer = (status: number, code: string) =>
  probeFailureOf(new APIError(status, { code, message: "m" }, "m", new Headers()));

describe("probeFailureOf", () => {
  it("takes the gateway's code when it is a protocol code", () => {
    expect(answer(429, "RATE_LIMITED").code).toBe("RATE_LIMITED");
  });

  it("takes no inherited name for a code: a server error naming one is a proxy's, not the node's", () => {
    for (const code of ["constructor", "toString", "__proto__", "hasOwnProperty"]) {
      const failure = answer(502, code);
      expect(failure.code).toBe("BACKEND_UNAVAILABLE");
      expect(failure.unreachable).toBe(true);
      expect(answer(400, code).code).toBe("INVALID_REQUEST");
    }
  });
});
