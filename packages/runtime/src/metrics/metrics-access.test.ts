import type { IncomingHttpHeaders } from "node:http";
import { describe, expect, it } from "vitest";
import { isLoopbackAddress, MetricsConfig, metricsAccess } from "./metrics-access.js";

const scrape = (remoteAddress: string | undefined, headers: IncomingHttpHeaders = {}) => ({
  headers,
  socket: { remoteAddress },
});

describe("metricsAccess", () => {
  it("without a token serves only this machine's loopback, not through a proxy", () => {
    for (const config of [undefined, {}, { public: false }]) {
      const refusal = metricsAccess(config);
      for (const local of ["127.0.0.1", "127.8.0.3", "::1", "::ffff:127.0.0.1"])
        expect(refusal(scrape(local)), local).toBeUndefined();
      expect(refusal(scrape("127.0.0.1", { authorization: "Bearer anything" }))).toBeUndefined();
      for (const remote of [
        undefined,
        "",
        "192.0.2.7",
        "::ffff:192.0.2.7",
        "10.0.0.1",
        "fd00::2",
        "128.0.0.1",
        "::2",
      ])
        expect(refusal(scrape(remote)), String(remote)).toBe("METRICS_LOCAL_ONLY");
      for (const header of ["forwarded", "x-forwarded-for", "x-real-ip", "via"])
        expect(refusal(scrape("127.0.0.1", { [header]: "203.0.113.9" })), header).toBe("METRICS_LOCAL_ONLY");
    }
  });

  it("with public: true serves every address", () => {
    const refusal = metricsAccess({ public: true });
    expect(refusal(scrape("203.0.113.9", { "x-forwarded-for": "198.51.100.1" }))).toBeUndefined();
    expect(refusal(scrape(undefined))).toBeUndefined();
  });

  it("with a token, takes only Authorization: Bearer <that token>, from any address", () => {
    const refusal = metricsAccess({ token: "scrape-token-0123456789" });
    expect(
      refusal(scrape("203.0.113.9", { authorization: "Bearer scrape-token-0123456789" })),
    ).toBeUndefined();
    expect(refusal(scrape("127.0.0.1", { authorization: "bearer scrape-token-0123456789" }))).toBeUndefined();
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
    ]) {
      const headers = refused === undefined ? {} : { authorization: refused };
      expect(refusal(scrape("127.0.0.1", headers)), String(refused)).toBe("METRICS_UNAUTHORIZED");
    }
  });

  it("refuses a token too short to resist guessing, unknown fields, and a token with public: true", () => {
    expect(MetricsConfig.safeParse({ token: "short" }).success).toBe(false);
    expect(MetricsConfig.safeParse({ tokne: "scrape-token-0123456789" }).success).toBe(false);
    const both = MetricsConfig.safeParse({ token: "scrape-token-0123456789", public: true });
    expect(both.success).toBe(false);
    expect(both.error?.issues[0]?.path).toEqual(["public"]);
    expect(MetricsConfig.safeParse({ token: "scrape-token-0123456789", public: false }).success).toBe(true);
  });
});

describe("isLoopbackAddress", () => {
  it("knows 127.0.0.0/8 and ::1, also IPv4-mapped", () => {
    expect(isLoopbackAddress("127.255.255.254")).toBe(true);
    expect(isLoopbackAddress("::FFFF:127.0.0.1")).toBe(true);
    expect(isLoopbackAddress("0:0:0:0:0:0:0:1")).toBe(true);
    expect(isLoopbackAddress("1.127.0.0")).toBe(false);
    expect(isLoopbackAddress("::ffff:10.0.0.1")).toBe(false);
  });
});
