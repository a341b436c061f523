import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { CsrfTokens, isCrossSite } from "./csrf.js";

describe("CSRF tokens", () => {
  const tokens = new CsrfTokens(randomBytes(32));

  it("binds a token to its session: another session's token, or an anonymous one, does not match", () => {
    const a = tokens.forSession("session-a");
    expect(CsrfTokens.matches(a, tokens.forSession("session-a"))).toBe(true);
    expect(CsrfTokens.matches(a, tokens.forSession("session-b"))).toBe(false);
    expect(CsrfTokens.matches(tokens.forPreSession("session-a"), tokens.forSession("session-a"))).toBe(false);
  });

  it("is keyed: the same session under another secret gives another token", () => {
    const other = new CsrfTokens(randomBytes(32));
    expect(other.forSession("s")).not.toBe(tokens.forSession("s"));
  });

  it("refuses missing, empty and truncated tokens", () => {
    const expected = tokens.forPreSession(CsrfTokens.newPreSessionId());
    expect(CsrfTokens.matches(undefined, expected)).toBe(false);
    expect(CsrfTokens.matches("", expected)).toBe(false);
    expect(CsrfTokens.matches(expected.slice(0, -1), expected)).toBe(false);
    expect(CsrfTokens.matches(expected, expected)).toBe(true);
  });

  it("pre-session ids are fresh random values", () => {
    const ids = new Set(Array.from({ length: 100 }, () => CsrfTokens.newPreSessionId()));
    expect(ids.size).toBe(100);
    for (const id of ids) expect(id).toMatch(/^[A-Za-z0-9_-]{24}$/);
  });
});

describe("cross-site requests", () => {
  it("refuses what a browser marks as sent by another site", () => {
    expect(isCrossSite({ secFetchSite: "cross-site", host: "gw.example" })).toBe(true);
    expect(isCrossSite({ secFetchSite: "same-site", host: "gw.example" })).toBe(true);
    expect(isCrossSite({ origin: "https://evil.example", host: "gw.example" })).toBe(true);
    expect(isCrossSite({ origin: "null", host: "gw.example" })).toBe(true);
  });

  it("lets same-origin requests, and requests without browser headers, through to the token check", () => {
    expect(
      isCrossSite({ secFetchSite: "same-origin", origin: "https://gw.example", host: "gw.example" }),
    ).toBe(false);
    expect(isCrossSite({ host: "gw.example" })).toBe(false);
  });

  it("believes the browser's Sec-Fetch-Site over a Host that a proxy in front rewrote", () => {
    // nginx's `proxy_set_header Host $host` drops the port the browser's Origin still names.
    const behindProxy = { origin: "http://localhost:8090", host: "localhost" };
    expect(isCrossSite({ ...behindProxy, secFetchSite: "same-origin" })).toBe(false);
    expect(isCrossSite({ ...behindProxy, secFetchSite: "cross-site" })).toBe(true);
    // Without Fetch Metadata the Origin is all there is to compare.
    expect(isCrossSite(behindProxy)).toBe(true);
  });
});
