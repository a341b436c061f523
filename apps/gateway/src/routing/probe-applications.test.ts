import { createHash } from "node:crypto";
import { deriveSessionId, isNodeInSession, keyPairFromPrivateKey } from "@pocket-ai/protocol";
import { describe, expect, it } from "vitest";
import { ProbeApplications } from "./probe-applications.js";
import { seededRandom } from "./selection-math.js";

const HOUR = 3_600_000;
const sha256 = (text: string) => createHash("sha256").update(text).digest();
// Fixed node keys, addresses and draws: which sessions hold which node, and every count below,
// are the same on every run (no lucky draw decides them).
const nodes = Array.from({ length: 60 }, (_, i) => ({
  address: keyPairFromPrivateKey(sha256(`probe-test-node-${i}`)).address,
}));
// Any uniformly spread address will do here (the gateway mints key pairs): hashes of a counter.
const minter = () => {
  let n = 0;
  return () => `pokt1${sha256(`probe-app-${n++}`).toString("hex").slice(0, 32)}`;
};
const holds = (node: string, session: number) => (app: string) =>
  isNodeInSession(deriveSessionId(app, "llama-2-13b", session), nodes, 6, node);

describe("probe applications", () => {
  it("send a probe under an application whose session holds the node, spread over the pool", () => {
    const apps = new ProbeApplications(
      { poolSize: 32, lifetimeMs: [6 * HOUR, 48 * HOUR], rampMs: HOUR, maxMints: 512 },
      seededRandom(7),
      minter(),
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
      { poolSize: 8, lifetimeMs: [6 * HOUR, 48 * HOUR], rampMs: HOUR, maxMints: 64 },
      seededRandom(7),
      minter(),
    );
    const first = new Set(apps.addresses(0));
    expect(first.size).toBe(8);
    const later = apps.addresses(49 * HOUR);
    expect(later.length).toBe(8);
    expect(later.some((a) => first.has(a))).toBe(false);
    const middle = new ProbeApplications(
      { poolSize: 64, lifetimeMs: [6 * HOUR, 48 * HOUR], rampMs: HOUR, maxMints: 1 },
      seededRandom(7),
      minter(),
    );
    const start = new Set(middle.addresses(0));
    // Lifetimes are drawn, so applications leave one by one, not all at once.
    const kept = middle.addresses(27 * HOUR).filter((a) => start.has(a)).length;
    expect(kept).toBeGreaterThan(10);
    expect(kept).toBeLessThan(54);
  });

  it("give up after maxMints when no application's session can hold the node", () => {
    const apps = new ProbeApplications(
      { poolSize: 4, lifetimeMs: [HOUR, 2 * HOUR], rampMs: HOUR, maxMints: 16 },
      seededRandom(7),
      minter(),
    );
    expect(apps.pick(0, () => false)).toBeUndefined();
  });

  it("shared: hand over what they mint and take the table's pool back, replacing no retirement themselves", () => {
    const options = { poolSize: 4, lifetimeMs: [6 * HOUR, 48 * HOUR] as const, rampMs: HOUR, maxMints: 64 };
    let changes = 0;
    const apps = new ProbeApplications(options, seededRandom(7), minter(), { changed: () => changes++ });
    const table = (["a", "b", "c", "d"] as const).map((name, i) => ({
      address: `pokt1${name}`,
      bornAt: 0,
      retireAt: (2 + i) * HOUR,
      activity: 1,
    }));
    apps.adopt(table);
    expect(apps.addresses(0)).toEqual(table.map((a) => a.address));
    const tableHolds = new Set(table.map((a) => a.address));
    // (Every minted one lives at least 6 hours: it outlives these four.)
    // No pooled application's session holds the node: one is minted and carries the probe; the
    // one due to retire soonest leaves.
    const minted = apps.pick(HOUR, (app) => !tableHolds.has(app))!;
    expect(minted).toBeDefined();
    expect(apps.addresses(HOUR)).toEqual(["pokt1b", "pokt1c", "pokt1d", minted]);
    expect(changes).toBe(1);
    const handed = apps.takeMinted();
    expect(handed.map((a) => a.address)).toEqual([minted]);
    // Another is minted while the table is being brought up to date; the table's answer (which
    // has the first, not this one) does not undo it, nor bring back the one it displaced.
    const second = apps.pick(HOUR, (app) => !tableHolds.has(app) && app !== minted)!;
    expect(apps.addresses(HOUR)).not.toContain("pokt1b");
    apps.adopt([...table.slice(1), ...handed]);
    expect([...apps.addresses(HOUR)].sort()).toEqual(["pokt1c", "pokt1d", minted, second].sort());
    // A failed hand-over keeps the minted one for the next.
    const unsaved = apps.takeMinted();
    expect(unsaved.map((a) => a.address)).toEqual([second]);
    apps.restore(unsaved);
    expect(apps.takeMinted().map((a) => a.address)).toEqual([second]);
    // Retired applications leave; the table, not this copy, replaces them.
    const before = changes;
    expect(apps.addresses(4 * HOUR).length).toBe(3);
    expect(changes).toBe(before + 1);
  });
});
