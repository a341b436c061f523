import type { AddressInfo } from "node:net";
import { makeGatewayClient, pocketCodeOf } from "@pocket-ai/link";
import {
  generateKeyPair,
  type SessionHeader,
  verifyClaimAck,
  verifyProofAck,
  weekIdOf,
} from "@pocket-ai/protocol";
import { createTRPCUntypedClient, httpLink } from "@trpc/client";
import { createHTTPServer } from "@trpc/server/adapters/standalone";
import { Effect, Layer, ManagedRuntime, Redacted, type Runtime } from "effect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  HOUR,
  ledgerRelays,
  nodeClaim,
  nodeProof,
  receiptExpectations,
  registerNode,
  sessionAt,
  writeLedger,
} from "../../test/support/settlement-fixtures.js";
import { SettlementTest } from "../../test/support/settlement-test-layer.js";
import { AdminAuth } from "../admin/admin-auth.js";
import { adminCallFailure } from "../app/admin-call-failure.js";
import { gatewayNodeRouter } from "../app/routers.js";
import { contextFromRequest, type GatewayServices, mergeRouters, router } from "../trpc.js";
import { runSettlementCommand } from "./settlement-cli.js";
import { settlementAdminRouter } from "./settlement-router.js";

const TOKEN = "settlement-admin-token-0123456789";
const managed = ManagedRuntime.make(Layer.merge(SettlementTest, AdminAuth.layer(Redacted.make(TOKEN))));
// The gateway mounts these routers at the same paths.
const appRouter = mergeRouters(
  gatewayNodeRouter,
  router({ admin: router({ settlement: settlementAdminRouter }) }),
);
const server = createHTTPServer({
  router: appRouter,
  createContext: async (opts) =>
    // These procedures use only Settlement and AdminAuth, which this runtime provides.
    contextFromRequest((await managed.runtime()) as unknown as Runtime.Runtime<GatewayServices>)(opts),
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

const cli = (...args: string[]) =>
  Effect.runPromise(runSettlementCommand(args, { adminUrl: url, token: TOKEN }));

describe("settlement over HTTP, with the typed gateway client nodes use", () => {
  const node = generateKeyPair();
  let header: SessionHeader;

  it("carries RATE_NOT_SET, the accepted claim, the proof, DUPLICATE_CLAIM and the tally across the wire", async () => {
    header = sessionAt(Date.now() - 2 * HOUR); // ended an hour ago: inside its claim window
    const ledger = ledgerRelays(header, 40);
    await managed.runPromise(Effect.zipRight(registerNode(node), writeLedger(header, node.address, ledger)));
    const gateway = makeGatewayClient(url);
    const { tree, root, submission } = nodeClaim(node, header, ledger, Date.now());

    const refused = (p: Promise<unknown>) => p.then(() => undefined, pocketCodeOf);
    expect(await refused(gateway.settlement.submitClaim.mutate(submission))).toBe("RATE_NOT_SET");
    // A proof of a claim the gateway does not hold: INVALID_PROOF, on which a node sends its claim again.
    expect(await refused(gateway.settlement.submitProof.mutate(nodeProof(node, header, tree, 0)))).toBe(
      "INVALID_PROOF",
    );

    const week = weekIdOf(header.sessionStart);
    expect(await cli("rates", "set", "--week", week, "--usd-per-pokt", "$0.25")).toBe(
      `POKT rate of ${week} set to $0.25 (250000 µUSD per POKT)`,
    );
    const ack = await gateway.settlement.submitClaim.mutate(submission);
    expect(ack.status).toBe("accepted");
    // Signed receipts: the node checks each against its own claim and the gateway it asked.
    const expected = receiptExpectations(node, header, root);
    expect(verifyClaimAck(ack, expected).ok).toBe(true);
    const proofAck = await gateway.settlement.submitProof.mutate(
      nodeProof(node, header, tree, ack.leafIndex),
    );
    expect(proofAck).toMatchObject({ status: "proven", mintedUpokt: "120000" });
    expect(verifyProofAck(proofAck, expected).ok).toBe(true);

    const other = nodeClaim(node, header, ledger.slice(1), Date.now()).submission;
    expect(await refused(gateway.settlement.submitClaim.mutate(other))).toBe("DUPLICATE_CLAIM");

    const csv = await cli("tally", "--week", week, "--format", "csv");
    expect(csv.split("\r\n")[1]).toMatch(
      /,llama-2-13b,1,40,30000,120000,120000,120000,0\.12,0\.12,250000,30000,/,
    );
    const json = JSON.parse(await cli("tally", "--week", week, "--format", "json"));
    expect(json.totals).toMatchObject({
      mintedUpokt: "120000",
      chargedUpokt: "120000",
      burnedUpokt: "120000",
    });
    const text = await cli("tally", "--week", week);
    expect(text).toContain("POKT at $0.25");
    expect(text).toMatch(/total\s+1\s+40\s+0\.12\s+0\.12\s+\$0\.03/);
    expect(await cli("rates", "list")).toMatch(new RegExp(`${week}\\s+\\$0\\.25\\s+250000\\s+1`));
    expect(JSON.parse(await cli("claims", "list", "--status", "proven", "--format", "json"))).toHaveLength(1);
    const claims = await cli("claims", "list", "--status", "proven");
    expect(claims.split("\n")[0]).toMatch(/^week\s+node\s+service/);
    expect(claims).toMatch(
      new RegExp(`${week}\\s+${node.address}\\s+llama-2-13b\\s+\\d+\\s+40\\s+40\\s+proven\\s+0\\.12`),
    );
    expect(await cli("claims", "list", "--status", "rejected")).toBe("No claims match.\n");
  });

  it("refuses a CLI call with a wrong token or bad arguments, saying why", async () => {
    const wrong = runSettlementCommand(["rates", "list"], { adminUrl: url, token: "nope" });
    await expect(Effect.runPromise(wrong)).rejects.toThrow(/ADMIN_UNAUTHORIZED/);
    await expect(cli("rates", "set", "--week", "2026-W48", "--usd-per-pokt", "0.1234567")).rejects.toThrow(
      /at most 6 decimals/,
    );
    await expect(cli("rates", "set", "--usd-per-pokt", "0.25")).rejects.toThrow(/needs --week/);
    await expect(cli("tally", "--format", "xml")).rejects.toThrow(/--format must be/);
    await expect(cli("mint")).rejects.toThrow(/unknown settlement command "mint"/);
    await expect(cli("claims", "list", "--status", "bogus")).rejects.toThrow(
      /--status must be claimed, proven, rejected, not bogus/,
    );
    await expect(cli("claims", "list", "--limit", "0")).rejects.toThrow(
      /--limit must be a whole number from 1/,
    );
    await expect(cli("claims", "list", "--format", "xml")).rejects.toThrow(/--format must be text or json/);
    await expect(cli("tally", "--week", "48")).rejects.toThrow(
      /--week must be an ISO week like 2026-W48, not 48/,
    );
  });

  it("says which input field the admin API refused, not its validator's raw report", async () => {
    const trpc = createTRPCUntypedClient({
      links: [httpLink({ url, headers: { authorization: `Bearer ${TOKEN}` } })],
    });
    const failure = await trpc.query("admin.settlement.claims.list", { status: "bogus", limit: 0 }).then(
      () => "answered",
      (e: unknown) => adminCallFailure(e, url),
    );
    expect(failure).toMatch(/^INVALID_REQUEST: the input is not valid: /);
    expect(failure).toContain("status: ");
    expect(failure).toContain("limit: ");
    expect(failure).not.toContain("{");
  });
});
