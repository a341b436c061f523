import type { NetworkInterfaceInfo } from "node:os";
import { describe, expect, it } from "vitest";
import { advertiseUrlOf } from "./advertise-url.js";

const nic = (address: string, family: "IPv4" | "IPv6", internal: boolean) =>
  ({ address, family, internal }) as NetworkInterfaceInfo;
const machine =
  (...addresses: NetworkInterfaceInfo[]) =>
  () => ({ lo: addresses.filter((a) => a.internal), eth: addresses.filter((a) => !a.internal) });

describe("advertiseUrlOf", () => {
  it("takes the configured URL first, without a trailing slash", () => {
    expect(advertiseUrlOf({ host: "0.0.0.0", port: 8080 }, "http://10.0.3.7:9000/", machine())).toBe(
      "http://10.0.3.7:9000",
    );
  });

  it("uses a listen address that names one host, with the port it really listens on", () => {
    expect(advertiseUrlOf({ host: "127.0.0.1", port: 40123 }, undefined, machine())).toBe(
      "http://127.0.0.1:40123",
    );
    expect(advertiseUrlOf({ host: "10.0.3.7", port: 8080 }, undefined, machine())).toBe(
      "http://10.0.3.7:8080",
    );
    expect(advertiseUrlOf({ host: "::1", port: 8080 }, undefined, machine())).toBe("http://[::1]:8080");
  });

  it("for 0.0.0.0 or ::, the machine's one non-loopback IPv4 address", () => {
    const container = machine(
      nic("127.0.0.1", "IPv4", true),
      nic("172.18.0.4", "IPv4", false),
      nic("fe80::1", "IPv6", false),
    );
    expect(advertiseUrlOf({ host: "0.0.0.0", port: 8080 }, undefined, container)).toBe(
      "http://172.18.0.4:8080",
    );
    expect(advertiseUrlOf({ host: "::", port: 8080 }, undefined, container)).toBe("http://172.18.0.4:8080");
  });

  it("no single answer (none, or several addresses): none, so the operator must set it", () => {
    const host = machine(nic("10.0.0.2", "IPv4", false), nic("192.168.1.9", "IPv4", false));
    expect(advertiseUrlOf({ host: "0.0.0.0", port: 8080 }, undefined, host)).toBeUndefined();
    expect(
      advertiseUrlOf({ host: "0.0.0.0", port: 8080 }, undefined, machine(nic("127.0.0.1", "IPv4", true))),
    ).toBeUndefined();
  });
});
