import { createTestDatabase } from "@pocket-ai/runtime/testing";
import { ManagedRuntime } from "effect";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GatewayStore } from "../src/db/database.js";
import { startTestGateway, type TestGateway } from "./support/gateway-test-harness.js";
import { withKeyWritesHeld } from "./support/key-writes-held.js";
import { PortalBrowser } from "./support/portal-browser.js";
import { dialectMissing, postgresServerUrl, STORE_DIALECTS } from "./support/temp-database.js";

/**
 * The portal's key caps (`keys.maxPerAccount`, `keys.maxBudgetUsd`) hold when a customer sends
 * several key forms at once. On PostgreSQL the writes to the key table are held until every form
 * waits on a lock, so each form has passed whatever it checks apart from its write.
 */

const errorCode = (page: string) => /data-code="([A-Z_]+)"/.exec(page)?.[1];

describe.each(STORE_DIALECTS)("portal key caps under concurrent forms on %s", (dialect) => {
  describe.skipIf(dialectMissing(dialect))(dialect, () => {
    let t: TestGateway;
    let operator: ManagedRuntime.ManagedRuntime<GatewayStore, unknown> | undefined;
    beforeAll(async () => {
      const url = dialect === "postgres" ? await createTestDatabase(postgresServerUrl()!) : undefined;
      t = await startTestGateway({
        ...(url === undefined ? {} : { database: { url } }),
        portal: {
          passwordHash: { logN: 10 },
          signup: { perNetworkPerHour: 20 },
          // Each account's own caps at work: the daily cap on all accounts' grants has its own tests.
          keys: { maxPerAccount: 2, maxBudgetUsd: "20", selfServeUsdPerDay: null },
        },
      });
      if (url !== undefined) operator = ManagedRuntime.make(GatewayStore.layer({ url }));
    }, 30_000);
    afterAll(async () => {
      await operator?.dispose();
      await t?.close();
    });

    /** Sends the forms at once (on PostgreSQL, with key writes held until all of them wait). */
    const atOnce = async <A>(forms: (() => Promise<A>)[]): Promise<A[]> => {
      if (operator === undefined) return Promise.all(forms.map((f) => f()));
      const db = await operator.runPromise(GatewayStore);
      return withKeyWritesHeld(db, forms.length, () => Promise.all(forms.map((f) => f())));
    };

    it("three Create key forms at once on an account allowed two keys: two are made, one is refused", async () => {
      const b = new PortalBrowser(t.gateway.url);
      await b.signup("race@example.com");
      const csrf = await b.csrf("/portal/keys");
      const forms = await atOnce(
        [0, 1, 2].map((i) => () => b.request("/portal/keys", { csrf, name: `k${i}`, budget: "20" })),
      );
      expect(forms.map((f) => f.res.status).sort()).toEqual([201, 201, 409]);
      expect(forms.map((f) => errorCode(f.text)).filter((c) => c !== undefined)).toEqual([
        "KEY_LIMIT_REACHED",
      ]);
      const page = (await b.request("/portal/keys")).text;
      expect(page.match(/data-status="active"/g)).toHaveLength(2);
    }, 30_000);

    it("two budget raises at once that fit only one by one: one is saved, one is refused", async () => {
      const b = new PortalBrowser(t.gateway.url);
      await b.signup("raise@example.com");
      const csrf = await b.csrf("/portal/keys");
      // A key that spent $0.00075 and was revoked: what it spent stays held against the $40.
      const spender = await b.request("/portal/keys", { csrf, name: "spender", budget: "0.001" });
      const secret = /pai_[0-9A-Za-z]{32}/.exec(spender.text)![0];
      await new OpenAI({
        apiKey: secret,
        baseURL: `${t.gateway.url}/v1`,
        maxRetries: 0,
      }).chat.completions.create({
        model: "llama-2-13b",
        messages: [{ role: "user", content: "hi" }],
        max_tokens: 3,
      });
      const [spent] = await b.keyIds();
      await b.request(`/portal/keys/${spent}/revoke`, { csrf });
      for (const name of ["a", "b"]) await b.request("/portal/keys", { csrf, name, budget: "10" });
      const keys = (await b.keyIds()).filter((id) => id !== spent);
      expect(keys).toHaveLength(2);
      // Each raise to $20 fits beside the other key's $10 ($40 - $10.00075 left); both do not.
      const forms = await atOnce(
        keys.map((id, i) => () => b.request(`/portal/keys/${id}`, { csrf, name: `k${i}`, budget: "20" })),
      );
      expect(forms.map((f) => f.res.status).sort()).toEqual([303, 409]);
      expect(forms.map((f) => errorCode(f.text)).filter((c) => c !== undefined)).toEqual([
        "ACCOUNT_BUDGET_REACHED",
      ]);
      const page = (await b.request("/portal/keys")).text;
      expect(page).toMatch(/\$0 \/ \$20</);
      expect(page).toMatch(/\$0 \/ \$10</);
    }, 30_000);
  });
});
