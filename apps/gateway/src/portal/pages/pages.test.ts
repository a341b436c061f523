import { DEFAULT_CATALOG, generateKeyPair, type NodeScore } from "@pocket-ai/protocol";
import { describe, expect, it } from "vitest";
import { csvField } from "../../app/csv-field.js";
import { html } from "../html.js";
import type { View } from "../layout.js";
import type { PortalUser } from "../portal-store.js";
import { adminForgottenNodesPage, adminNodesPage, identityFindings, type NodeRow } from "./admin-nodes.js";
import { adminSettlementPage } from "./admin-settlement.js";
import { catalogPage } from "./catalog.js";
import { usageCsv, usagePage } from "./usage.js";

const admin: PortalUser = {
  id: "usr_1",
  email: "ops@example.com",
  passwordHash: "x",
  role: "admin",
  applicationId: "app_1",
  signupNetwork: "n",
  createdAt: 0,
  lastLoginAt: 0,
};
const view: View = { user: admin, csrf: "token", path: "/portal/admin/nodes" };

const estimate = (mean: number) => ({ mean, lower: mean - 0.06, upper: mean + 0.04, n: 240 });
function score(address: string, over: Partial<NodeScore["identity"]> = {}): NodeScore {
  return {
    address,
    serviceId: "llama-2-13b",
    categories: { general: estimate(0.72), coding: estimate(0.5) },
    overall: estimate(0.7),
    qualifies: ["quality-gpt-3.5"],
    speed: { ttftP10Ms: 100, tokensPerSecondP10: 30, samples: 5 },
    errorRate: 0,
    identity: {
      sharedBackendGroup: null,
      declaredModel: null,
      modelTest: "untested",
      modelTestPValue: null,
      ...over,
    },
    loglikelihood: "supported",
    updatedAt: 1,
  };
}

describe("portal pages", () => {
  it("escapes everything interpolated, attributes included", () => {
    const evil = `"><script>alert(1)</script>`;
    const out = html`<input value="${evil}"><p>${evil}</p>${[evil, html`<b>ok</b>`]}`.value;
    expect(out).not.toContain("<script>");
    expect(out).toContain("&quot;&gt;&lt;script&gt;");
    expect(out).toContain("<b>ok</b>");
  });

  it("names identity findings: wrong model, shared backend, cached answers, unchecked customers", () => {
    const address = generateKeyPair().address;
    expect(identityFindings(score(address)).map((f) => f.label)).toEqual([]);
    const labels = identityFindings(
      score(address, {
        modelTest: "inconsistent",
        declaredModel: "llama-2-13b-q4",
        modelTestPValue: 0.0004,
        sharedBackendGroup: "g1",
        cachedAnswers: true,
        organicCheck: "none",
      }),
    ).map((f) => `${f.level}:${f.label}`);
    expect(labels).toEqual([
      "bad:not the declared model (llama-2-13b-q4), p = 0.00040",
      "warn:shares a backend (group g1)",
      "bad:cached answers",
      "warn:customers unchecked: no quality tiers",
    ]);
    // Checked either way: nothing to say.
    expect(identityFindings(score(address, { organicCheck: "self" }))).toEqual([]);
  });

  it("shows each node's score with its interval as a whisker, its sanction and its findings", () => {
    const address = generateKeyPair().address;
    const row: NodeRow = {
      node: {
        address,
        publicKey: "02",
        endpoint: "http://127.0.0.1:1/trpc",
        operator: "op <b>",
        announcement: {
          hardware: { gpu: "RTX 4090", vramGb: 24, cpuOnly: false },
        } as NodeRow["node"]["announcement"],
        offers: new Map([["llama-2-13b", { serviceId: "llama-2-13b", tiers: ["standard"] } as never]]),
        registeredAt: 0,
        lastAnnouncedAt: 0,
      },
      fresh: true,
      health: { healthy: true, failures: 0, checkedAt: 1, latencyMs: 12 },
      stats: {
        latencyMs: { ttft: 140 },
        errorRate: 0.25,
        relays: 8,
        failures: 2,
        sanctionedUntil: 2_000_000_000_000,
        sanctionReason: "invalid signature",
      },
      scores: [score(address, { sharedBackendGroup: "g7" })],
    };
    const page = adminNodesPage(view, {
      rows: [row],
      now: 0,
      forgetAfterMs: 3_600_000,
      scores: { evaluator: "ev-1", fetchedAt: 1, lastError: undefined },
    }).value;
    expect(page).toContain('<a href="/portal/admin/nodes/forgotten" id="forgotten-link">');
    expect(page).toContain("not announced for 1 h");
    expect(page).toContain('class="whisker"');
    expect(page).toContain("0.70 [0.64, 0.74]");
    expect(page).toContain("sanctioned");
    expect(page).toContain("invalid signature");
    expect(page).toContain("shares a backend (group g7)");
    expect(page).toContain("25.0%");
    expect(page).toContain("op &lt;b&gt;");
  });

  it("lists forgotten nodes escaped, with the link to the next page", () => {
    const evil = `"><img src=x onerror=alert(1)>`;
    const address = generateKeyPair().address;
    const page = adminForgottenNodesPage(
      { ...view, path: "/portal/admin/nodes/forgotten" },
      {
        nodes: [
          {
            address,
            endpoint: `http://127.0.0.1:1/trpc?${evil}`,
            operator: evil,
            registeredAt: 0,
            lastAnnouncedAt: 60_000,
            status: "removed",
          },
        ],
        forgetAfterMs: 5_400_000,
        first: false,
        next: { lastAnnouncedAt: 60_000, address },
      },
    ).value;
    expect(page).not.toContain("<img");
    expect(page).toContain("&lt;img src=x onerror=alert(1)&gt;");
    expect(page).toContain("not announced for 90 min");
    expect(page).toContain("its endpoint answered as another node");
    expect(page).toContain(
      `href="/portal/admin/nodes/forgotten?at=60000&amp;address=${address}" id="forgotten-next"`,
    );
    expect(page).toContain('<a href="/portal/admin/nodes/forgotten">First page</a>');
  });

  it("lists every catalog service and tier with price, limits, hardware and the quality bar's scores", () => {
    const address = generateKeyPair().address;
    const page = catalogPage(
      { user: undefined, csrf: "t", path: "/portal/catalog" },
      {
        catalog: DEFAULT_CATALOG,
        baseUrl: "http://127.0.0.1:8080/v1",
        nodesFor: (name) => (name === "llama-2-13b:standard" ? 2 : 0),
        measured: new Map([["quality-gpt-3.5", [{ address, estimate: estimate(0.72) }]]]),
        evaluator: "ev-1",
      },
    ).value;
    for (const service of DEFAULT_CATALOG.services) {
      expect(page).toContain(`data-service="${service.id}"`);
      for (const tier of service.tiers) expect(page).toContain(`<code>${service.id}:${tier.id}</code>`);
    }
    expect(page).toContain("$0.00075");
    expect(page).toContain("0.72 [0.66, 0.76]");
    expect(page).toContain("baseURL: &quot;http://127.0.0.1:8080/v1&quot;");
    expect(page).toContain("curl http://127.0.0.1:8080/v1/chat/completions");
  });

  it("writes usage CSV that a spreadsheet cannot execute", () => {
    expect(csvField("=HYPERLINK(1)")).toBe("'=HYPERLINK(1)");
    expect(csvField('a,"b"')).toBe('"a,""b"""');
    const csv = usageCsv(
      [
        {
          day: "2026-12-01",
          applicationId: "app_1",
          keyId: "key_1",
          serviceId: "llama-2-13b",
          requests: 3,
          failed: 1,
          inputTokens: 30,
          outputTokens: 12,
          images: 0,
          spentMicroUsd: 1500,
        },
      ],
      new Map([["key_1", "=cmd"]]),
    );
    expect(csv).toBe(
      "day,key_id,key_name,model,requests,failed,input_tokens,output_tokens,images,spent_micro_usd\r\n2026-12-01,key_1,'=cmd,llama-2-13b,3,1,30,12,0,1500\r\n",
    );
  });

  it("draws one bar segment per day and model with a value in its tooltip", () => {
    const page = usagePage(
      { ...view, path: "/portal/usage" },
      {
        rows: [
          {
            day: "2026-12-02",
            applicationId: "app_1",
            keyId: "key_1",
            serviceId: "mistral-7b",
            requests: 4,
            failed: 0,
            inputTokens: 1,
            outputTokens: 1,
            images: 0,
            spentMicroUsd: 3000,
          },
        ],
        days: 7,
        keyId: undefined,
        keyNames: new Map([["key_1", "prod"]]),
        dayList: [
          "2026-11-26",
          "2026-11-27",
          "2026-11-28",
          "2026-11-29",
          "2026-11-30",
          "2026-12-01",
          "2026-12-02",
        ],
      },
    ).value;
    expect(page).toContain("<title>2026-12-02 · mistral-7b: 4</title>");
    expect(page).toContain("<title>2026-12-02 · mistral-7b: $0.003</title>");
  });

  it("charts spend per day by key over all keys, named as the customer named them", () => {
    const row = (keyId: string, spentMicroUsd: number) => ({
      day: "2026-12-02",
      applicationId: "app_1",
      keyId,
      serviceId: "mistral-7b",
      requests: 1,
      failed: 0,
      inputTokens: 1,
      outputTokens: 1,
      images: 0,
      spentMicroUsd,
    });
    const data = {
      rows: [row("key_1", 3000), row("key_2", 1000)],
      days: 1,
      keyNames: new Map([
        ["key_1", "prod"],
        ["key_2", "<staging>"],
      ]),
      dayList: ["2026-12-02"],
    };
    const all = usagePage({ ...view, path: "/portal/usage" }, { ...data, keyId: undefined }).value;
    expect(all).toContain('id="spend-by-key"');
    expect(all).toContain("<title>2026-12-02 · prod: $0.003</title>");
    expect(all).toContain("<title>2026-12-02 · &lt;staging&gt;: $0.001</title>");
    // Filtered to one key, the by-key chart would repeat the by-model one: it is left out.
    const one = usagePage({ ...view, path: "/portal/usage" }, { ...data, keyId: "key_1" }).value;
    expect(one).not.toContain('id="spend-by-key"');
  });

  it("says the settlement's Bedrock figure covers text relays only when the week has image relays", () => {
    const amounts = (relays: number, bedrock: string | null, excluded: number) => ({
      claims: 1,
      relaysProven: relays,
      computeUnits: "0",
      mintedUpokt: "0",
      chargedUpokt: "0",
      burnedUpokt: "0",
      mintedPokt: "0",
      burnedPokt: "0",
      fiatMicroUsd: "0",
      bedrockEquivalentMicroUsd: bedrock,
      bedrockExcludedRelays: excluded,
    });
    const tally = {
      weekId: "2026-W48",
      operator: "ops",
      gatewayAddress: "pokt1gateway",
      rateMicroUsdPerPokt: 250_000,
      usdPerPokt: "0.25",
      rows: [
        { ...amounts(4, "1960", 0), operator: "ops", serviceId: "llama-2-13b" },
        { ...amounts(3, null, 3), operator: "ops", serviceId: "stable-diffusion" },
      ],
      totals: amounts(7, "1960", 3),
      unsettled: { claimed: 0, rejected: 0 },
      finality: { final: false, claimsUntil: null, proofsUntil: null, finalAt: null },
    };
    const data = { weekId: "2026-W48", currentWeekId: "2026-W48", rates: [], tally, operator: "ops" };
    const page = adminSettlementPage({ ...view, path: "/portal/admin/settlement" }, data).value;
    expect(page).toContain("the same tokens on Bedrock: $0.00196 (text relays only)");
    expect(page).toContain("3 image or embedding relay(s) are not in it");
    const textOnly = { ...tally, rows: tally.rows.slice(0, 1), totals: amounts(4, "1960", 0) };
    const plain = adminSettlementPage(
      { ...view, path: "/portal/admin/settlement" },
      { ...data, tally: textOnly },
    ).value;
    expect(plain).not.toContain("text relays only");
    expect(plain).not.toContain('id="bedrock-excluded"');
  });
});
