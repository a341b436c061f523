/**
 * One claim whose step fails for a reason of the node's own (a ledger write refused, a defect)
 * does not stop the others: it is logged with a stable code and no stack, and the pass goes on.
 * A loopback gateway that takes every claim; the ledger a SQLite file.
 */
import { deriveSessionId, generateKeyPair } from "@pocket-ai/protocol";
import { createLogger } from "@pocket-ai/runtime";
import type { Database } from "better-sqlite3";
import { Effect } from "effect";
import { afterEach, describe, expect, it } from "vitest";
import { insertAnsweredRows } from "../../test/helpers/claim-rows.js";
import { startFakeGateway } from "../../test/helpers/fake-gateway.js";
import { openLedger } from "../../test/helpers/ledger-fixtures.js";
import { ClaimStore } from "../db/claim-store.js";
import { RelayStore } from "../db/relay-store.js";
import { makeGatewayClient } from "../gateway-link/gateway-client.js";
import { makeNodeMetrics } from "../metrics/node-metrics.js";
import { claimPass } from "./claim-loop.js";

const SESSION = { mode: "time", genesisMs: 0, sessionLengthMs: 1_000_000, graceMs: 1_000 } as const;
const MINUTE = 60_000;

/** Claim passes of one node against the gateway, at a given time, and the error lines they log. */
function claimPasses(
  relays: RelayStore,
  claims: ClaimStore,
  gateway: { readonly key: { readonly address: string }; readonly link: { readonly url: string } },
) {
  const lines: Record<string, unknown>[] = [];
  const raw: string[] = [];
  const pass = (now: number) =>
    Effect.runPromise(
      claimPass({
        key: generateKeyPair(),
        relays,
        claims,
        session: SESSION,
        gateways: new Map([[gateway.key.address, makeGatewayClient(gateway.link.url)]]),
        metrics: makeNodeMetrics(),
        log: createLogger({
          app: "node",
          level: "error",
          write: (line) => {
            raw.push(line);
            lines.push(JSON.parse(line) as Record<string, unknown>);
          },
        }),
        now: () => now,
        keepSettledMs: 10 * MINUTE,
        orphansSaid: new Set(),
      }),
    );
  return { lines, raw, pass };
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe("a due claim whose step fails for a reason of the node's own", () => {
  it("is logged with its code and no stack, and the node's other claims advance", async () => {
    const { db, close } = await openLedger();
    cleanups.push(close);
    const sqlite = (db as unknown as { readonly $client: Database }).$client;
    const relays = new RelayStore(db);
    const claims = new ClaimStore(db);
    // Takes every claim once it has said RATE_NOT_SET to the first four.
    const rateNotSet = { code: "RATE_NOT_SET" as const, message: "no rate for that week yet" };
    const gateway = await startFakeGateway(SESSION, {
      claimRefusals: [rateNotSet, rateNotSet, rateNotSet, rateNotSet],
    });
    cleanups.push(gateway.close);
    const app = generateKeyPair().address;
    for (let n = 0; n < 4; n++) {
      insertAnsweredRows(
        db,
        {
          sessionId: deriveSessionId(app, "llama-2-13b", n),
          gatewayAddress: gateway.key.address,
          applicationAddress: app,
          serviceId: "llama-2-13b",
          sessionNumber: n,
          sessionEnd: (n + 1) * SESSION.sessionLengthMs,
        },
        3,
      );
    }
    const { lines, raw, pass } = claimPasses(relays, claims, gateway);
    // The three claims are built and wait for the week's rate.
    const built = 5 * SESSION.sessionLengthMs;
    await pass(built);
    const next = built + 11 * MINUTE;
    const [broken, unwritable, sound, outOfRange] = claims.due(next);
    expect(outOfRange).toBeDefined();
    // The first claim's rows no longer make a tree (a defect when it is proven); the second's row
    // refuses every write.
    sqlite.prepare("update relays set leaf_hash = 'not a hash' where session_id = ?").run(broken!.sessionId);
    sqlite.exec(
      `create trigger claim_write_fails before update on claims when old.session_id = '${unwritable!.sessionId}'
       begin select raise(abort, 'disk I/O error'); end`,
    );
    // The fourth's session number is out of range: its window cannot be computed (a throw, not a
    // failed effect, while its step is built).
    sqlite.prepare("update claims set session_number = -1 where session_id = ?").run(outOfRange!.sessionId);

    await pass(next);
    const status = (sessionId: string) => claims.all().find((c) => c.sessionId === sessionId)?.status;
    expect(status(sound!.sessionId)).toBe("proven");
    const failures = lines.filter((l) => l.code === "CLAIM_STEP_FAILED");
    expect(failures.map((l) => l.sessionId).sort()).toEqual(
      [broken!.sessionId, unwritable!.sessionId, outOfRange!.sessionId].sort(),
    );
    expect(failures.every((l) => l.level === "error")).toBe(true);
    expect(failures.find((l) => l.sessionId === broken!.sessionId)?.error).toMatch(/no claim tree/);
    expect(raw.join("\n")).not.toMatch(/\n\s+at |\.ts:\d+/);
    // The broken claim waits its backoff; the next pass goes on past the one that still fails.
    expect(claims.all().find((c) => c.sessionId === broken!.sessionId)).toMatchObject({
      attempts: broken!.attempts + 1,
    });
    await expect(pass(next + 11 * MINUTE)).resolves.toBeUndefined();
  });

  it("one session whose claim cannot be written is logged, and the other sessions are claimed", async () => {
    const { db, close } = await openLedger();
    cleanups.push(close);
    const sqlite = (db as unknown as { readonly $client: Database }).$client;
    const relays = new RelayStore(db);
    const claims = new ClaimStore(db);
    const gateway = await startFakeGateway(SESSION);
    cleanups.push(gateway.close);
    const app = generateKeyPair().address;
    const sessionIds = [0, 1, 2].map((n) => deriveSessionId(app, "llama-2-13b", n));
    for (const [n, sessionId] of sessionIds.entries()) {
      insertAnsweredRows(
        db,
        {
          sessionId,
          gatewayAddress: gateway.key.address,
          applicationAddress: app,
          serviceId: "llama-2-13b",
          sessionNumber: n,
          sessionEnd: (n + 1) * SESSION.sessionLengthMs,
        },
        3,
      );
    }
    // Every session's claim is written but the first one's (the ledger refuses that row).
    sqlite.exec(
      `create trigger claim_insert_fails before insert on claims when new.session_id = '${sessionIds[0]}'
       begin select raise(abort, 'disk I/O error'); end`,
    );
    const { lines, pass } = claimPasses(relays, claims, gateway);
    await expect(pass(4 * SESSION.sessionLengthMs)).resolves.toBeUndefined();
    const status = new Map(claims.all().map((c) => [c.sessionId, c.status]));
    expect(status.get(sessionIds[0]!)).toBeUndefined();
    expect(status.get(sessionIds[1]!)).toBe("proven");
    expect(status.get(sessionIds[2]!)).toBe("proven");
    expect(lines.filter((l) => l.code === "CLAIM_STEP_FAILED")).toEqual([
      expect.objectContaining({
        level: "error",
        sessionId: sessionIds[0],
        error: expect.stringMatching(/disk I\/O error/),
      }),
    ]);

    // Once the ledger takes it again, the next search claims it too.
    sqlite.exec("drop trigger claim_insert_fails");
    await pass(4 * SESSION.sessionLengthMs + MINUTE);
    expect(claims.all().find((c) => c.sessionId === sessionIds[0])?.status).toBe("proven");
  });
});
