import type { AddressInfo } from "node:net";
import { createTRPCClient, httpLink, TRPCClientError } from "@trpc/client";
import { createHTTPServer } from "@trpc/server/adapters/standalone";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN_TOKEN, adminTestRuntime } from "../../test/support/admin-test-runtime.js";
import { contextFromRequest } from "../trpc.js";
import { type AdminRouter, adminRouter } from "./admin-router.js";

const managed = adminTestRuntime();
const server = createHTTPServer({
  router: adminRouter,
  createContext: async (opts) => contextFromRequest(await managed.runtime())(opts),
});
let url = "";
beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  await managed.dispose();
});

const client = (authorization?: string) =>
  createTRPCClient<AdminRouter>({
    links: [httpLink({ url, headers: authorization === undefined ? {} : { authorization } })],
  });

const clientError = async (p: Promise<unknown>) => {
  const error = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(TRPCClientError);
  return error as TRPCClientError<AdminRouter>;
};

describe("adminRouter over HTTP", () => {
  it("answers 401 UNAUTHORIZED with pocketCode ADMIN_UNAUTHORIZED for a missing or wrong token", async () => {
    for (const authorization of [undefined, "Bearer wrong", `Bearer ${ADMIN_TOKEN}0`, ADMIN_TOKEN.slice(1)]) {
      const error = await clientError(client(authorization).applications.list.query());
      expect(error.data).toMatchObject({
        code: "UNAUTHORIZED",
        httpStatus: 401,
        pocketCode: "ADMIN_UNAUTHORIZED",
      });
    }
  });

  it("serves the operator with the right token", async () => {
    const admin = client(`Bearer ${ADMIN_TOKEN}`);
    const app = await admin.applications.create.mutate({ name: "Acme" });
    const { key, secret } = await admin.keys.create.mutate({ applicationId: app.id, name: "k", tpm: 10_000 });
    expect(secret).toMatch(/^pai_[0-9A-Za-z]{32}$/);
    expect(await admin.keys.list.query()).toEqual([key]);
    expect(await admin.usage.byKey.query({ keyId: key.id })).toMatchObject({ requests: 0, spentMicroUsd: 0 });
  });

  it("carries the protocol code of a refused request", async () => {
    const admin = client(`Bearer ${ADMIN_TOKEN}`);
    const notFound = await clientError(admin.keys.create.mutate({ applicationId: "app_nope", name: "k" }));
    expect(notFound.data).toMatchObject({ httpStatus: 400, pocketCode: "INVALID_REQUEST" });
    const invalid = await clientError(admin.keys.update.mutate({ keyId: "key_x", rpm: 0 }));
    expect(invalid.data).toMatchObject({ code: "BAD_REQUEST", pocketCode: "INVALID_REQUEST" });
  });
});
