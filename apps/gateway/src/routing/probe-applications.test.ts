import { randomBytes } from "node:crypto";
import { deriveSessionId, generateKeyPair, isNodeInSession } from "@pocket-ai/protocol";
import { describe, expect, it } from "vitest";
import { ProbeApplications } from "./probe-applications.js";

const HOUR = 3_600_000;
const nodes = Array.from({ length: 60 }, () => ({ address: generateKeyPair().address }));
// Any uniformly random address will do here; the gateway mints key pairs.
const mint = () => `pokt1${randomBytes(16).toString("hex")}`;
const holds = (node: string, session: number) => (app: string) =>
  isNodeInSession(deriveSessionId(app, "llama-2-13b", session), nodes, 6, node);

describe("probe applications", () => {
  it("send a probe under an application whose session holds the node, spread over the pool", () => {
    const apps = new ProbeApplications(
      { poolSize: 32, lifetimeMs: [6 * HOUR, 48 * HOUR], maxMints: 512 },
      Math.random,
      mint,
    );
    const used = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const node = nodes[i % nodes.length]!.address;
      const app = apps.pick(0, holds(node, 1));
      expect(app).toBeDefined();
      expect(holds(node, 1)(app!)).toBe(true);
      used.add(app!);
    }
    // With 6 of 60 nodes per session a pooled application holds a given node one time in ten:
    // probes are spread over many applications, not one per node.
    expect(used.size).toBeGreaterThan(20);
    expect(apps.addresses(0).length).toBe(32);
  });

  it("retire every application after its lifetime", () => {
    const apps = new ProbeApplications(
      { poolSize: 8, lifetimeMs: [6 * HOUR, 48 * HOUR], maxMints: 64 },
      Math.random,
      mint,
    );
    const first = new Set(apps.addresses(0));
    expect(first.size).toBe(8);
    const later = apps.addresses(49 * HOUR);
    expect(later.length).toBe(8);
    expect(later.some((a) => first.has(a))).toBe(false);
    const middle = new ProbeApplications(
      { poolSize: 64, lifetimeMs: [6 * HOUR, 48 * HOUR], maxMints: 1 },
      Math.random,
      mint,
    );
    const start = new Set(middle.addresses(0));
    // Lifetimes are drawn, so applications leave one by one, not all at once.
    const kept = middle.addresses(27 * HOUR).filter((a) => start.has(a)).length;
    expect(kept).toBeGreaterThan(10);
    expect(kept).toBeLessThan(54);
  });

  it("give up after maxMints when no application's session can hold the node", () => {
    const apps = new ProbeApplications(
      { poolSize: 4, lifetimeMs: [HOUR, 2 * HOUR], maxMints: 16 },
      Math.random,
      mint,
    );
    expect(apps.pick(0, () => false)).toBeUndefined();
  });
});
