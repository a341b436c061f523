import { pocketCodeOf } from "@pocket-ai/link";
import { startTestPostgres } from "@pocket-ai/runtime/testing";
import { TRPCClientError } from "@trpc/client";
import { describe, expect, it } from "vitest";
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
