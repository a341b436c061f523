import { EventEmitter } from "node:events";
import { generateKeyPair, type RelayRequest } from "@pocket-ai/protocol";
import { Effect, Fiber } from "effect";
import { describe, expect, it } from "vitest";
import { answered, ledgerFile, openLedger, relay } from "../../test/helpers/ledger-fixtures.js";
import { NodeConfig } from "../config/node-config.js";
import { RelayStore } from "../db/relay-store.js";
import { SessionMembership } from "../relay/session-membership.js";
import {
  ClusterHub,
  SCRAPE_REUSE_MS,
  workerConfig,
  workersRefusal,
  workersWarnings,
} from "./node-cluster.js";
import { PrimaryLink, type ToWorker } from "./worker-link.js";

/**
 * Workers wired to a hub as Node's IPC wires them: each message is serialized and arrives on a
 * later turn of the event loop; a channel can disconnect.
 */
function wire(hub: ClusterHub, id: number) {
  const channel = new EventEmitter() as EventEmitter & { send(message: unknown): boolean };
  let connected = true;
  channel.send = (message) => {
    if (!connected) return false;
    const copy = JSON.parse(JSON.stringify(message)) as unknown;
    setImmediate(() => hub.receive(id, copy));
    return true;
  };
  const link = new PrimaryLink(id, channel);
  hub.join(id, (message: ToWorker) => {
    const copy = JSON.parse(JSON.stringify(message)) as unknown;
    setImmediate(() => channel.emit("message", copy));
  });
  const disconnect = () => {
    connected = false;
    hub.leave(id);
    channel.emit("disconnect");
  };
  return { link, disconnect };
}

const turn = () => new Promise((resolve) => setImmediate(resolve));

describe("the workers' shared admission", () => {
  it("grants a request hash to one worker at a time, until its row is committed and it is released", async () => {
    const hub = new ClusterHub();
    const a = wire(hub, 1);
    const b = wire(hub, 2);
    expect(await a.link.admit("h1", undefined)).toBe(true);
    expect(await b.link.admit("h1", undefined)).toBe(false);
    expect(await a.link.admit("h1", undefined)).toBe(false);
    // Only its holder releases a hash.
    b.link.release(["h1"]);
    await turn();
    await turn();
    expect(await b.link.admit("h1", undefined)).toBe(false);
    a.link.release(["h1"]);
    await turn();
    await turn();
    expect(hub.admissions.size).toBe(0);
    expect(await b.link.admit("h1", undefined)).toBe(true);
  });

  it("drops what a worker held when it is gone, and fails its pending admissions", async () => {
    const hub = new ClusterHub();
    const a = wire(hub, 1);
    const b = wire(hub, 2);
    expect(await a.link.admit("h1", undefined)).toBe(true);
    const pending = a.link.admit("h2", undefined);
    a.disconnect();
    await expect(pending).rejects.toThrow(/primary process is gone/);
    await expect(a.link.admit("h3", undefined)).rejects.toThrow(/primary process is gone/);
    expect(await b.link.admit("h1", undefined)).toBe(true);
  });

  it("forgets hashes whose session ended once the table grows, and keeps the rest", () => {
    let now = 1_000;
    const hub = new ClusterHub(() => now);
    for (let i = 0; i < 1_023; i++) expect(hub.admissions.admit(1, `old${i}`, 2_000, now)).toBe(true);
    expect(hub.admissions.admit(1, "open", undefined, now)).toBe(true);
    now = 3_000;
    expect(hub.admissions.admit(1, "new", 5_000, now)).toBe(true);
    expect(hub.admissions.size).toBe(2);
    expect(hub.admissions.admit(2, "open", undefined, now)).toBe(false);
    expect(hub.admissions.admit(2, "old0", undefined, now)).toBe(true);
  });

  it("passes the gateways' lists to every worker, the latest to one that joins later, and a caught gateway to the others", async () => {
    const hub = new ClusterHub();
    const a = wire(hub, 1);
    const heard: string[] = [];
    a.link.onMembership((g, registry, n) => heard.push(`a:${g}:${Object.keys(registry).join()}:${n}`));
    hub.membership("pokt1gateway", { "llama-2-13b": [{ address: "pokt1x" }] }, 3);
    await turn();
    const b = wire(hub, 2);
    await turn();
    b.link.onMembership((g, registry, n) => heard.push(`b:${g}:${Object.keys(registry).join()}:${n}`));
    expect(heard).toEqual(["a:pokt1gateway:llama-2-13b:3", "b:pokt1gateway:llama-2-13b:3"]);

    const caught: string[] = [];
    a.link.onDistrust((g) => caught.push(`a:${g}`));
    b.link.onDistrust((g) => caught.push(`b:${g}`));
    a.link.distrusted("pokt1gateway");
    await turn();
    await turn();
    expect(caught).toEqual(["b:pokt1gateway"]);
  });

  it("gathers every process's metrics for a scrape one worker took, and leaves out a worker that is gone", async () => {
    const hub = new ClusterHub(
      Date.now,
      () => "# HELP claims_total c\n# TYPE claims_total counter\nclaims_total 4\n",
    );
    const a = wire(hub, 1);
    const b = wire(hub, 2);
    const c = wire(hub, 3);
    a.link.onRender(() => "relays_total 1\n");
    b.link.onRender(() => "relays_total 2\n");
    c.link.onRender(() => "relays_total 3\n");
    const parts = await b.link.scrape();
    expect([...parts].map((p) => `${p.process}:${p.text.trim().split("\n").at(-1)}`).sort()).toEqual([
      "1:relays_total 1",
      "2:relays_total 2",
      "3:relays_total 3",
      "primary:claims_total 4",
    ]);
    c.disconnect();
    const after = await a.link.scrape();
    expect(after.map((p) => p.process).sort()).toEqual(["1", "2", "primary"]);
  });

  it("answers scrapes asked for while one is gathered, or just after it, from that one gathering", async () => {
    let now = 10_000;
    let primaryRenders = 0;
    const hub = new ClusterHub(
      () => now,
      () => {
        primaryRenders++;
        return "claims_total 4\n";
      },
    );
    const a = wire(hub, 1);
    const b = wire(hub, 2);
    const renders = { a: 0, b: 0 };
    a.link.onRender(() => `relays_total ${++renders.a}\n`);
    b.link.onRender(() => `relays_total ${++renders.b}\n`);
    const texts = (parts: readonly { process: string; text: string }[]) =>
      parts.map((p) => `${p.process}:${p.text.trim()}`).sort();
    // A flood of scrapes taken at once by both workers: one gathering answers them all.
    const flood = await Promise.all([...Array(10)].map((_, i) => (i % 2 === 0 ? a : b).link.scrape()));
    expect(renders).toEqual({ a: 1, b: 1 });
    expect(primaryRenders).toBe(1);
    for (const parts of flood)
      expect(texts(parts)).toEqual(["1:relays_total 1", "2:relays_total 1", "primary:claims_total 4"]);
    // Just after, the same result; once the moment has passed, a new gathering.
    now += SCRAPE_REUSE_MS - 1;
    expect(texts(await a.link.scrape())).toContain("1:relays_total 1");
    now += 1;
    expect(texts(await b.link.scrape())).toEqual([
      "1:relays_total 2",
      "2:relays_total 2",
      "primary:claims_total 4",
    ]);
    // A worker that joins makes the next scrape gather again, with it.
    const c = wire(hub, 3);
    c.link.onRender(() => "relays_total 9\n");
    expect(texts(await a.link.scrape())).toEqual([
      "1:relays_total 3",
      "2:relays_total 3",
      "3:relays_total 9",
      "primary:claims_total 4",
    ]);
  });

  it("tells a worker that joins later every gateway caught so far and each gateway's lists, merged by service", async () => {
    const hub = new ClusterHub();
    const a = wire(hub, 1);
    hub.membership("pokt1gateway", { "llama-2-13b": [{ address: "pokt1x" }] }, 3);
    hub.membership("pokt1gateway", { "mistral-7b": [{ address: "pokt1y" }] }, 3);
    a.link.distrusted("pokt1gateway");
    await turn();
    const b = wire(hub, 2);
    await turn();
    const lists: string[] = [];
    const caught: string[] = [];
    b.link.onMembership((g, registry) => lists.push(`${g}:${Object.keys(registry).sort().join()}`));
    b.link.onDistrust((g) => caught.push(g));
    expect(lists).toEqual(["pokt1gateway:llama-2-13b,mistral-7b"]);
    expect(caught).toEqual(["pokt1gateway"]);
  });

  it("keeps each gateway's lists apart: a worker judges a gateway's relays by its lists, whatever another gateway answered last", async () => {
    const me = generateKeyPair().address;
    const others = Array.from({ length: 12 }, () => ({ address: generateKeyPair().address }));
    const listA = [{ address: me }, ...others.slice(0, 2)]; // 3 candidates, 3 per session: always in
    const listB = others; // leaves this node out
    const via = (gateway: string, sessionId: string) =>
      ({
        gateway: { address: gateway },
        target: me,
        header: { sessionId, serviceId: "llama-2-13b" },
      }) as unknown as RelayRequest;
    const sessions = Array.from({ length: 20 }, (_, i) => (i + 1).toString(16).padStart(64, "0"));
    const worker = (link: PrimaryLink) => {
      // As each worker's Membership layer wires it.
      const membership = new SessionMembership(me);
      link.onMembership((gateway, registry, n) => membership.update(gateway, registry, n));
      return membership;
    };
    const hub = new ClusterHub();
    const early = worker(wire(hub, 1).link);
    hub.membership("pokt1gatewaya", { "llama-2-13b": listA }, 3);
    hub.membership("pokt1gatewayb", { "llama-2-13b": listB }, 1);
    await turn();
    const lateLink = wire(hub, 2).link;
    await turn();
    const late = worker(lateLink);
    for (const membership of [early, late])
      for (const sessionId of sessions) {
        expect(membership.check(via("pokt1gatewaya", sessionId))).toBe(true);
        expect(membership.check(via("pokt1gatewayb", sessionId))).toBe(false);
      }
  });

  it("drops what a worker sends after it left (IPC data can outlive its exit)", () => {
    const hub = new ClusterHub();
    wire(hub, 1);
    hub.leave(1);
    hub.receive(1, { pocket: "admit", id: 0, hash: "h1" });
    expect(hub.admissions.size).toBe(0);
  });

  it("ignores messages that are not of the protocol", async () => {
    const hub = new ClusterHub();
    const a = wire(hub, 1);
    hub.receive(1, "admit h1");
    hub.receive(1, { pocket: "admit", id: "x", hash: "h1" });
    hub.receive(1, { pocket: "release", hashes: "h1" });
    expect(hub.admissions.size).toBe(0);
    expect(await a.link.admit("h1", undefined)).toBe(true);
  });
});

/** One ledger file opened twice, as two workers open it. */
async function twoWorkersLedger() {
  const file = ledgerFile();
  const first = await openLedger(file);
  const second = await openLedger(file);
  return {
    dbs: [first.db, second.db] as const,
    close: async () => {
      await first.close();
      await second.close();
    },
  };
}

describe("two workers' relay ledgers on one file", () => {
  it("admit a request once: in flight through the primary, then from the shared rows", async () => {
    const { dbs, close } = await twoWorkersLedger();
    try {
      const hub = new ClusterHub();
      const a = new RelayStore(dbs[0], wire(hub, 1).link);
      const b = new RelayStore(dbs[1], wire(hub, 2).link);
      expect(await Effect.runPromise(a.admit(relay, 1))).toBe(true);
      expect(await Effect.runPromise(b.admit(relay, 1))).toBe(false);
      await Effect.runPromise(a.answer(relay.requestHash, answered, 2));
      await turn();
      await turn();
      // Released once its row committed: the other worker's ledger refuses it from the file.
      expect(hub.admissions.size).toBe(0);
      expect(await Effect.runPromise(b.admit(relay, 3))).toBe(false);
      expect(b.leaves("s1", "gw")).toHaveLength(1);
    } finally {
      await close();
    }
  });

  it("hand back a hash granted to a relay that was interrupted while it asked", async () => {
    const { dbs, close } = await twoWorkersLedger();
    try {
      const hub = new ClusterHub();
      const a = new RelayStore(dbs[0], wire(hub, 1).link);
      const b = new RelayStore(dbs[1], wire(hub, 2).link);
      const asking = Effect.runFork(a.admit(relay, 1));
      await Effect.runPromise(Fiber.interrupt(asking));
      for (let i = 0; i < 4; i++) await turn();
      expect(hub.admissions.size).toBe(0);
      expect(await Effect.runPromise(b.admit(relay, 1))).toBe(true);
    } finally {
      await close();
    }
  });
});

describe("the workers' config", () => {
  const config = (workers: number, kind = "dev") =>
    NodeConfig.parse({
      workers,
      services: [
        {
          serviceId: "llama-2-13b",
          backends: [{ kind, maxConcurrency: 10, maxQueue: 33, modelPath: "m.gguf" }],
        },
      ],
    });

  it("shares each backend's concurrency and queue out among the workers, at least one relay each", () => {
    const backend = (n: number) => workerConfig(config(n)).services[0]!.backends[0]!;
    expect([backend(1).maxConcurrency, backend(1).maxQueue]).toEqual([10, 33]);
    expect([backend(4).maxConcurrency, backend(4).maxQueue]).toEqual([2, 9]);
    expect(backend(16).maxConcurrency).toBe(1);
  });

  it("warns when the shares do not add up to the backend's maxConcurrency", () => {
    expect(workersWarnings(config(1))).toEqual([]);
    expect(workersWarnings(config(2))).toEqual([]);
    expect(workersWarnings(config(16))).toEqual([
      "services.0.backends.0: maxConcurrency 10 shared out among 16 workers is 1 each, 16 at once in all; make it a multiple of workers (16)",
    ]);
    expect(workersWarnings(config(4))).toEqual([
      "services.0.backends.0: maxConcurrency 10 shared out among 4 workers is 2 each, 8 at once in all; make it a multiple of workers (12)",
    ]);
  });

  it("refuses several workers in front of an in-process gguf model, naming the backend", () => {
    expect(workersRefusal(config(1, "gguf"))).toBeUndefined();
    expect(workersRefusal(config(2, "dev"))).toBeUndefined();
    expect(workersRefusal(config(2, "gguf"))).toMatch(/services\.0\.backends\.0.*workers: 1/);
  });
});
