import { isValidAddress } from "@pocket-ai/protocol";
import { describe, expect, it } from "vitest";
import { applicationKeyPair } from "./application-address.js";

const seed = new Uint8Array(32).fill(1);

describe("applicationKeyPair", () => {
  it("derives a valid pokt1 address, the same every time", () => {
    const a = applicationKeyPair(seed, "app_1");
    expect(a.address).toMatch(/^pokt1/);
    expect(isValidAddress(a.address)).toBe(true);
    expect(applicationKeyPair(seed, "app_1")).toEqual(a);
  });

  it("differs between applications and between gateways", () => {
    const a = applicationKeyPair(seed, "app_1").address;
    expect(applicationKeyPair(seed, "app_2").address).not.toBe(a);
    expect(applicationKeyPair(new Uint8Array(32).fill(2), "app_1").address).not.toBe(a);
  });
});
