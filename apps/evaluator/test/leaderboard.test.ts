import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { promisify } from "node:util";
import { EVALUATOR_PROCEDURES, generateKeyPair, type NodeScore, Scoreboard } from "@pocket-ai/protocol";
import { serveHttp } from "@pocket-ai/runtime";
import { createTRPCClient, httpBatchLink } from "@trpc/client";
import { Context, Effect, Exit, Layer, Runtime, Scope } from "effect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { boardTable } from "../src/cli/board-table.js";
import { EvaluatorStore, type EvaluatorStoreImpl } from "../src/db/evaluator-store.js";
import { evaluatorHandler } from "../src/leaderboard/http-handler.js";
import type { AppRouter } from "../src/router.js";

const run = promisify(execFile);
const CHROMIUM = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"].find((p) =>
  existsSync(p),
);

function entry(address: string, mean: number, flags: Partial<NodeScore["identity"]> = {}): NodeScore {
  const est = { mean, lower: mean - 0.05, upper: mean + 0.05, n: 250 };
  return {
    address,
    serviceId: "dev-text",
    categories: { knowledge: est, coding: { ...est, mean: mean - 0.1, lower: mean - 0.2 }, general: est },
    overall: est,
    qualifies: mean > 0.7 ? ["quality-gpt-3.5"] : [],
    speed: { ttftP10Ms: 120, tokensPerSecondP10: 40, samples: 8 },
    errorRate: 0.01,
    identity: {
      sharedBackendGroup: null,
      declaredModel: null,
      modelTest: "untested",
      modelTestPValue: null,
      ...flags,
    },
    loglikelihood: "supported",
    updatedAt: 1,
  };
}

/** An image node serving one cached picture for every prompt, unlike its reference's pictures. */
function imageEntry(address: string): NodeScore {
  const pass = { mean: 1, lower: 0.76, upper: 1, n: 12 };
  const images = { mean: 0.83, lower: 0.73, upper: 0.9, n: 72 };
  return {
    ...entry(address, 0.83),
    serviceId: "stable-diffusion",
    categories: { images },
    overall: images,
    qualifies: [],
    identity: {
      ...entry(address, 0).identity,
      cachedAnswers: true,
      declaredModel: "stable-diffusion",
      modelTest: "inconsistent",
      modelTestPValue: 0.005,
    },
    penalties: ["image-reference-mismatch"],
    images: {
      checks: {
        png: pass,
        size: pass,
        notBlank: pass,
        seed: pass,
        distinct: { ...pass, mean: 0, lower: 0, upper: 0.24 },
      },
      seedDistance: 0,
      duplicateDistance: 0,
      nearDuplicatePairs: 66,
    },
  };
}

/** A declared model that is markup to a page and an escape (clear the screen) to a terminal. */
const HOSTILE_MODEL = '<img src=x onerror="document.body.dataset.pwned=1">\u001b[2J';

const scope = Effect.runSync(Scope.make());
let url = "";
const nodes = [generateKeyPair().address, generateKeyPair().address, generateKeyPair().address];
const imageNode = generateKeyPair().address;

beforeAll(async () => {
  const context = await Effect.runPromise(Layer.buildWithScope(EvaluatorStore.layerTest, scope));
  const store: EvaluatorStoreImpl = Context.get(context, EvaluatorStore);
  [0.85, 0.45, 0.65].forEach((mean, i) => {
    const runId = `run-${i}`;
    store.startRun({
      id: runId,
      nodeAddress: nodes[i]!,
      serviceId: "dev-text",
      seed: i,
      suiteHash: "h",
      plannedItems: 1,
      startedAt: 1,
    });
    const flags =
      i === 1
        ? { declaredModel: "dev-q1", modelTest: "inconsistent" as const, modelTestPValue: 0.0001 }
        : i === 2
          ? {
              organicCheck: "none" as const,
              // A declared model copied from a node's announcement: markup and a terminal escape.
              declaredModel: HOSTILE_MODEL,
              modelTest: "consistent" as const,
              modelTestPValue: 0.5,
            }
          : {};
    store.publish(runId, entry(nodes[i]!, mean, flags), 1);
  });
  store.startRun({
    id: "run-image",
    nodeAddress: imageNode,
    serviceId: "stable-diffusion",
    seed: 9,
    suiteHash: "i",
    plannedItems: 1,
    startedAt: 1,
  });
  store.publish("run-image", imageEntry(imageNode), 1);
  const server = await Effect.runPromise(
    Scope.extend(
      serveHttp({
        handler: evaluatorHandler(
          { store, evaluatorId: "test-evaluator", now: () => 5 },
          Runtime.defaultRuntime,
        ),
        host: "127.0.0.1",
        port: 0,
      }),
      scope,
    ),
  );
  url = server.url;
});

afterAll(async () => {
  await Effect.runPromise(Scope.close(scope, Exit.void));
});

describe("publishing", () => {
  it(`serves the protocol's Scoreboard at tRPC ${EVALUATOR_PROCEDURES.scoreboard}`, async () => {
    const client = createTRPCClient<AppRouter>({ links: [httpBatchLink({ url: `${url}/trpc` })] });
    const board = Scoreboard.parse(await client.scores.board.query());
    expect(board.nodes.map((n) => n.address)).toEqual([nodes[0], imageNode, nodes[2], nodes[1]]);
    expect(board.nodes[1]?.identity.cachedAnswers).toBe(true);
    expect(board.evaluator).toBe("test-evaluator");
    // A node whose customers' answers no check reaches: shown, and granted no tier.
    expect(board.nodes[2]?.identity.organicCheck).toBe("none");
    expect(boardTable(board)).toContain("customers-unchecked:no-tiers");
  });

  it("prints a declared model's control characters in the terminal table as escapes, never as themselves", async () => {
    const client = createTRPCClient<AppRouter>({ links: [httpBatchLink({ url: `${url}/trpc` })] });
    const table = boardTable(Scoreboard.parse(await client.scores.board.query()));
    expect(table).toContain('<img src=x onerror="document.body.dataset.pwned=1">\\u001b[2J ok');
    // biome-ignore lint/suspicious/noControlCharactersInRegex: a control character is what must not be there.
    expect(table).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/);
  });
});

describe("leaderboard page in headless Chromium", () => {
  const dump = async (query: string) => {
    const { stdout } = await run(
      CHROMIUM!,
      [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--virtual-time-budget=3000",
        "--dump-dom",
        `${url}/${query}`,
      ],
      { timeout: 60_000 },
    );
    return stdout;
  };
  const rowOrder = (dom: string) =>
    [...dom.matchAll(/<tr data-address="(pokt1[a-z0-9]+)"/g)].map((m) => m[1]);

  it.skipIf(CHROMIUM === undefined)(
    "renders the table, bars with confidence whiskers and identity flags",
    async () => {
      const dom = await dump("");
      expect(rowOrder(dom)).toEqual([nodes[0], imageNode, nodes[2], nodes[1]]);
      expect(dom).toContain('class="whisker"');
      expect(dom).toContain('data-key="cat:images"');
      expect(dom).toContain("cached answers");
      expect(dom).toContain("seed distance 0.00");
      expect(dom).toContain("not dev-q1");
      expect(dom).toContain("pictures unlike the stable-diffusion reference");
      expect(dom).toContain("customers unchecked: no tiers");
      expect(dom).toMatch(/data-sorted="overall:desc"/);
      // A node's declared model is shown as text: its markup is not run.
      expect(dom).toContain('&lt;img src=x onerror="document.body.dataset.pwned=1"&gt;');
      expect(dom).not.toContain("data-pwned");
      expect(dom).not.toMatch(/<img/);
    },
    90_000,
  );

  it.skipIf(CHROMIUM === undefined)(
    "sorts by a column from the address",
    async () => {
      const dom = await dump("?sort=overall&dir=asc");
      expect(rowOrder(dom)).toEqual([nodes[1], nodes[2], imageNode, nodes[0]]);
      expect(dom).toMatch(/aria-sort="ascending"/);
    },
    90_000,
  );

  if (CHROMIUM === undefined) {
    console.warn("SKIPPED leaderboard browser tests: no chromium binary (apt-get install -y chromium)");
    // CI installs Chromium and sets POCKET_REQUIRE_BROWSER: there, a missing browser is a failure.
    it.runIf(process.env.POCKET_REQUIRE_BROWSER === "1")(
      "has a Chromium binary to test the page with",
      () => {
        expect(CHROMIUM, "POCKET_REQUIRE_BROWSER is set but no Chromium was found").toBeDefined();
      },
    );
  }
});
