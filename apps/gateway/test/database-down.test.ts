import { pocketCodeOf } from "@pocket-ai/link";
import { createTestDatabase, startBlackholeProxy, startTestPostgres } from "@pocket-ai/runtime/testing";
import { TRPCClientError } from "@trpc/client";
import { sql } from "drizzle-orm";
import { Effect } from "effect";
import { describe, expect, it } from "vitest";
import { GatewayStore, storeRunner } from "../src/db/database.js";
import { startTestGateway } from "./support/gateway-test-harness.js";
import { postgresServerUrl } from "./support/temp-database.js";

/**
 * The PostgreSQL server a gateway runs on goes away (stopped, restarting, cut off): every caller
 * reads that the database is unavailable and to retry — applications on the OpenAI API, and the
 * operator's admin commands, the portal and the nodes on the tRPC API alike — never an
 * "unexpected error" to report.
 */
describe.skipIf(postgresServerUrl() === null)("a gateway whose PostgreSQL server stopped", () => {
  it("answers its admin API with 503 DATABASE_UNAVAILABLE, as its OpenAI API does", async () => {
    const server = await startTestPostgres();
    const g = await startTestGateway({ database: { url: await server.createDatabase() } });
    try {
      const { openai } = await g.newKey();
      expect((await g.admin.admin.applications.list.query()).map((a) => a.name)).toEqual(["Acme"]);
      await server.stop();

      const admin = await g.admin.admin.applications.list.query().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(admin).toBeInstanceOf(TRPCClientError);
      expect(pocketCodeOf(admin)).toBe("DATABASE_UNAVAILABLE");
      expect((admin as TRPCClientError<never>).data).toMatchObject({ httpStatus: 503 });
      expect((admin as Error).message).not.toMatch(/unexpected error/);

      const relay = await openai.chat.completions
        .create({ model: "llama-2-13b", messages: [{ role: "user", content: "hi" }] })
        .then(
          () => undefined,
          (e: { status?: number; code?: string }) => e,
        );
      expect(relay).toMatchObject({ status: 503, code: "DATABASE_UNAVAILABLE" });
    } finally {
      await server.stop();
      await g.close();
    }
  }, 120_000);
});

/**
 * The PostgreSQL server stops answering without closing anything (a network partition, a frozen
 * host): the gateway's statement fails after `database.queryTimeoutMs` as the database being
 * unavailable (every API answers that `503 DATABASE_UNAVAILABLE`), and the store serves again once
 * the server answers.
 */
describe.skipIf(postgresServerUrl() === null)("a gateway whose PostgreSQL server stops answering", () => {
  it("fails the statement with DATABASE_UNAVAILABLE after its deadline, then serves again", async () => {
    const target = new URL(await createTestDatabase(postgresServerUrl() as string));
    const proxy = await startBlackholeProxy({ host: target.hostname, port: Number(target.port) });
    const url = new URL(target);
    url.port = String(proxy.port);
    try {
      await Effect.runPromise(
        Effect.scoped(
          Effect.gen(function* () {
            const use = storeRunner(yield* GatewayStore);
            const count = use("count applications", (db) =>
              db.get<{ n: number }>(sql`select count(*)::int as n from applications`),
            );
            expect(yield* count).toEqual({ n: 0 });
            proxy.blackhole();
            const failed = yield* Effect.flip(count);
            expect(failed).toMatchObject({
              _tag: "StorageError",
              code: "DATABASE_UNAVAILABLE",
              reason: "ETIMEDOUT",
            });
            proxy.forward();
            expect(yield* count).toEqual({ n: 0 });
          }).pipe(Effect.provide(GatewayStore.layer({ url: url.toString(), queryTimeoutMs: 1_000 }))),
        ),
      );
    } finally {
      proxy.forward();
      await proxy.close();
    }
  });
});
