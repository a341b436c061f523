import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";

// The gateways of the repository's compose file put their `publicUrl` into the portal's quick
// starts and into image URLs: a browser on the host must reach it, so it names a port the host
// publishes, never a name only the compose network resolves.
const root = join(import.meta.dirname, "../../..");
const read = (path: string) => parse(readFileSync(join(root, path), "utf8")) as Record<string, unknown>;

interface Service {
  readonly image?: string;
  readonly environment?: Record<string, string>;
  readonly ports?: readonly string[];
  readonly depends_on?: readonly string[] | Record<string, unknown>;
}

const services = read("compose.yaml").services as Record<string, Service>;
const deployed = read("deploy/gateway.yaml");

/** What compose makes of `${NAME:-default}` when NAME is not set. */
const unset = (value: string) => value.replace(/\$\{[A-Z0-9_]+:-([^}]*)\}/g, "$1");

/** The host ports a service publishes (`"8090:8080"` → 8090). */
const published = (name: string) => (services[name]?.ports ?? []).map((p) => String(p).split(":")[0]);

/** The service itself and whatever publishes a port in front of it (a load balancer that depends on it). */
const frontsOf = (name: string) => [
  name,
  ...Object.entries(services)
    .filter(([, s]) => {
      const deps = s.depends_on ?? [];
      return (Array.isArray(deps) ? deps : Object.keys(deps)).includes(name);
    })
    .map(([other]) => other),
];

const gateways = Object.entries(services).filter(([, s]) => s.image === "pocket-ai-gateway");

describe("compose.yaml's gateways", () => {
  it("has gateways to check", () => {
    expect(gateways.map(([name]) => name)).toEqual(
      expect.arrayContaining(["gateway", "gateway-replica-1", "gateway-replica-2"]),
    );
  });

  it.each(gateways)("%s: the public URL is one a browser on the host reaches", (name, service) => {
    const raw = service.environment?.POCKET_GATEWAY__PUBLIC_URL ?? deployed.publicUrl;
    expect(typeof raw, `${name} has a publicUrl`).toBe("string");
    const url = new URL(unset(raw as string));
    expect(Object.keys(services), `${url.hostname} is a compose service name`).not.toContain(url.hostname);
    const ports = frontsOf(name).flatMap(published);
    expect(ports, `${url.port} is published for ${name}`).toContain(url.port);
  });

  it("lets the operator set each public URL for their domain", () => {
    for (const [name, service] of gateways)
      expect(service.environment?.POCKET_GATEWAY__PUBLIC_URL, name).toMatch(/^\$\{POCKET_[A-Z_]+:-http/);
  });
});
