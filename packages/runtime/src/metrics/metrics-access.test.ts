import { describe, expect, it } from "vitest";
import { MetricsConfig, metricsAccess } from "./metrics-access.js";

describe("metricsAccess", () => {
  it("lets every scrape in when no token is set", () => {
    expect(metricsAccess(undefined)(undefined)).toBe(true);
    expect(metricsAccess({})("Bearer anything")).toBe(true);
  });

  it("with a token, takes only Authorization: Bearer <that token>", () => {
    const mayRead = metricsAccess({ token: "scrape-token-0123456789" });
    expect(mayRead("Bearer scrape-token-0123456789")).toBe(true);
    expect(mayRead("bearer scrape-token-0123456789")).toBe(true);
    for (const refused of [
      undefined,
      "",
      "Bearer",
      "Bearer ",
      "scrape-token-0123456789",
      "Basic scrape-token-0123456789",
      "Bearer scrape-token-012345678",
      "Bearer scrape-token-01234567890",
      "Bearer SCRAPE-TOKEN-0123456789",
    ])
      expect(mayRead(refused), String(refused)).toBe(false);
  });

  it("refuses a token too short to resist guessing, and unknown fields", () => {
    expect(MetricsConfig.safeParse({ token: "short" }).success).toBe(false);
    expect(MetricsConfig.safeParse({ tokne: "scrape-token-0123456789" }).success).toBe(false);
  });
});
