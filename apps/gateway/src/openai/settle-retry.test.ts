import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestGateway, type TestGateway } from "../../test/support/gateway-test-harness.js";
import { SETTLE_ATTEMPTS } from "./settle-retry.js";

/**
 * Settling a relay (its charge and ledger row, one transaction) is what makes an answer paid for
 * and claimable. A SQLite trigger makes that write fail for one key's answered rows, as a full disk
 * would; the test either keeps it (the write never succeeds) or drops it the moment the first
 * failure is logged (a passing fault).
 */
let t: TestGateway;
let dropAfterFirstFailure = false;
const failures: string[] = [];
/** The gateway's "request refused" log lines (what its operator reads of a refusal). */
const refusals: string[] = [];

const dbFile = () => join(t.config.dataDir, "gateway.sqlite");
const trigger = (keyId: string) => `fail_settle_${keyId.replace(/[^A-Za-z0-9]/g, "_")}`;

function failSettling(keyId: string): void {
  const db = new Database(dbFile());
  db.exec(`create trigger ${trigger(keyId)} before insert on relays
    when new.key_id = '${keyId}' and new.outcome = 'ok'
    begin select raise(abort, 'disk I/O error (test)'); end`);
  db.close();
}

function stopFailing(keyId: string): void {
  const db = new Database(dbFile());
  db.exec(`drop trigger if exists ${trigger(keyId)}`);
  db.close();
}

let failingKey: string | undefined;

beforeAll(async () => {
  t = await startTestGateway(
    {},
    {
      onLog: (line) => {
        if (line.includes('"request refused"')) refusals.push(line);
        if (!/settling a (stream|relay) failed/.test(line)) return;
        failures.push(line);
        // Synchronously, before the next try can start: the fault passes after one failure.
        if (dropAfterFirstFailure && failingKey !== undefined) stopFailing(failingKey);
      },
    },
  );
}, 30_000);
afterAll(() => t?.close());

function answeredRows(keyId: string): number {
  const db = new Database(dbFile(), { readonly: true });
  const row = db
    .prepare("select count(*) as n from relays where key_id = ? and outcome = 'ok'")
    .get(keyId) as {
    n: number;
  };
  db.close();
  return row.n;
}

/** The SSE `data:` payloads of a streamed chat completion, read raw. */
async function streamEvents(secret: string): Promise<string[]> {
  const response = await fetch(`${t.gateway.url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${secret}` },
    body: JSON.stringify({
      model: "llama-2-13b",
      messages: [{ role: "user", content: "hello" }],
      max_tokens: 4,
      stream: true,
    }),
  });
  expect(response.status).toBe(200);
  const text = await response.text();
  return text
    .split("\n")
    .filter((line) => line.startsWith("data: "))
    .map((line) => line.slice(6));
}

async function setUp(mode: "persistent" | "passing") {
  const made = await t.newKey();
  failures.length = 0;
  failingKey = made.key.id;
  dropAfterFirstFailure = mode === "passing";
  failSettling(made.key.id);
  return made;
}

describe("a stream whose settlement fails", () => {
  it("ends with a DATABASE_UNAVAILABLE error event, not [DONE], after bounded tries; nothing is charged", async () => {
    const { secret, key } = await setUp("persistent");
    const events = await streamEvents(secret);
    stopFailing(key.id);
    expect(events).not.toContain("[DONE]");
    const last = JSON.parse(events.at(-1)!) as { error?: { code?: string; message?: string } };
    expect(last.error?.code).toBe("DATABASE_UNAVAILABLE");
    expect(last.error?.message).toMatch(/retry/i);
    expect(JSON.stringify(last)).not.toMatch(/disk I\/O|\.ts\b|\bat \w+ \(/);
    // The text reached the client before the end: the events before the error carry content.
    expect(events.length).toBeGreaterThan(1);
    expect(
      failures.filter((line) => line.includes("settling a stream failed")).length,
    ).toBeGreaterThanOrEqual(SETTLE_ATTEMPTS);
    expect(answeredRows(key.id)).toBe(0);
    await expect
      .poll(() => t.admin.admin.usage.byKey.query({ keyId: key.id }), { timeout: 30_000, interval: 50 })
      .toMatchObject({ spentMicroUsd: 0, reservedMicroUsd: 0 });
  });

  it("is retried: a passing fault still ends in [DONE] with the ledger row written and the stream charged", async () => {
    const { secret, key } = await setUp("passing");
    const events = await streamEvents(secret);
    expect(failures).toHaveLength(1);
    expect(events.at(-1)).toBe("[DONE]");
    expect(events.some((e) => e.includes('"error"'))).toBe(false);
    expect(answeredRows(key.id)).toBe(1);
    const usage = await t.admin.admin.usage.byKey.query({ keyId: key.id });
    expect(usage.spentMicroUsd).toBeGreaterThan(0);
    expect(usage.reservedMicroUsd).toBe(0);
  });
});

describe("a unary relay whose settlement fails", () => {
  it("is withheld when the write keeps failing, and delivered when the fault passes", async () => {
    const persistent = await setUp("persistent");
    const refused = await persistent.openai.chat.completions
      .create({ model: "llama-2-13b", messages: [{ role: "user", content: "hi" }], max_tokens: 3 })
      .then(
        () => undefined,
        (error: unknown) => error as { status?: number; code?: string },
      );
    stopFailing(persistent.key.id);
    // The gateway's own storage failed: a 503 to retry, as a stream's error event says.
    expect(refused).toMatchObject({ status: 503, code: "DATABASE_UNAVAILABLE" });
    // The caller is told to retry, not about a database server or its URL (a SQLite gateway has
    // neither); the operator's log says what the database answered.
    expect((refused as { message?: string }).message).toMatch(/retry/i);
    expect((refused as { message?: string }).message).not.toMatch(/URL|server runs/);
    const logged = refusals.find((line) => line.includes("DATABASE_UNAVAILABLE"));
    expect(logged).toContain("disk I/O error (test)");
    expect(failures.length).toBeGreaterThanOrEqual(SETTLE_ATTEMPTS);
    expect(answeredRows(persistent.key.id)).toBe(0);

    const passing = await setUp("passing");
    const answer = await passing.openai.chat.completions.create({
      model: "llama-2-13b",
      messages: [{ role: "user", content: "hi" }],
      max_tokens: 3,
    });
    expect(answer.choices[0]?.message.content?.length).toBeGreaterThan(0);
    expect(failures).toHaveLength(1);
    expect(answeredRows(passing.key.id)).toBe(1);
  });
});
