import { createHash } from "node:crypto";
import { createDevImageEngine } from "@pocket-ai/node/fakes";
import { keyPairFromPrivateKey, type NodeScore, Scoreboard } from "@pocket-ai/protocol";
import { Effect, Layer } from "effect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { boardTable } from "../src/cli/board-table.js";
import type { EvaluatedNode, RunSettings } from "../src/config/evaluator-config.js";
import { EvaluatorStore } from "../src/db/evaluator-store.js";
import { IMAGE_REFERENCE, IMAGE_REFERENCE_PENALTY } from "../src/images/image-reference.js";
import { makeOpenAiTransport } from "../src/probe/openai-transport.js";
import { ProbeTransport } from "../src/probe/probe-transport.js";
import { buildScoreboard } from "../src/publish/scoreboard.js";
import { IMAGE_SUITE_HASH } from "../src/runs/plan.js";
import { runNode } from "../src/runs/run-node.js";
import { type DevGateway, type DevNodeSpec, startDevGateway } from "./dev-gateway.js";
import type { ImageFault } from "./image-faults.js";
import { otherWeights, reencoded } from "./image-variants.js";

const settings: RunSettings = {
  perNodeRatePerSecond: 5000,
  nodeConcurrency: 3,
  itemsPerTask: 0,
  identityPrompts: 0,
  speedProbes: 0,
  imageProbes: 3,
  imageSeedRepeats: 1,
  imageContentProbes: 1,
  imageReferenceProbes: 8,
  imageMinSide: 64,
  imageMaxSide: 192,
  evidenceDecay: 0.7,
  evidenceRounds: 8,
  roundIntervalMs: 60_000,
};

/** The nodes: one without a reference (`untested`), the rest compared with `reference`. */
const faults = ["noise", "blank", "ignoreSeed", "cached", "wrongSize"] as const;
const names = ["reference", "honest", "reencoded", "otherWeights", ...faults, "untested"] as const;
type Name = (typeof names)[number];
const specs = Object.fromEntries(
  names.map((name) => {
    const engine = createDevImageEngine();
    const spec: DevNodeSpec = {
      address: keyPairFromPrivateKey(createHash("sha256").update(`image-reference-${name}`).digest()).address,
      image:
        name === "otherWeights" ? otherWeights(engine) : name === "reencoded" ? reencoded(engine, 6) : engine,
      ...((faults as readonly string[]).includes(name) ? { imageFault: name as ImageFault } : {}),
    };
    return [name, spec];
  }),
) as Record<Name, DevNodeSpec>;
const node = (name: Name): EvaluatedNode => ({
  address: specs[name].address,
  serviceId: "stable-diffusion",
  model: "stable-diffusion",
  declaredModel: null,
  kind: "image",
});
const compared = ["honest", "reencoded", "otherWeights", ...faults] as const;

let gateway: DevGateway;
let board: NodeScore[] = [];
let farPairs: Record<string, number[]> = {};
const entry = (name: Name) => board.find((n) => n.address === specs[name].address)!;

beforeAll(async () => {
  gateway = await startDevGateway({ nodes: Object.values(specs), evaluatorKey: "sk-eval" });
  const transport = makeOpenAiTransport({
    baseUrl: gateway.baseUrl,
    apiKey: "sk-eval",
    timeoutMs: 20_000,
    headers: {},
  });
  const reference = { transport, model: "stable-diffusion", targetNode: specs.reference.address };
  const layer = Layer.merge(EvaluatorStore.layerTest, Layer.succeed(ProbeTransport, transport));
  const out = await Effect.runPromise(
    Effect.gen(function* () {
      const store = yield* EvaluatorStore;
      yield* Effect.forEach(
        [...compared, "untested" as const],
        (name) =>
          runNode({
            node: node(name),
            tasks: [],
            settings,
            seed: 20_261_203,
            ...(name === "untested" ? {} : { reference }),
          }),
        { concurrency: settings.nodeConcurrency },
      );
      // Per node and compared pair, in index order (even: txt2img, odd: img2img): 1 when far apart.
      const distances = Object.fromEntries(
        compared.map((name) => {
          const run = store.finishedRuns(specs[name].address, "stable-diffusion", IMAGE_SUITE_HASH, 1)[0]!;
          const far = Array<number>(settings.imageReferenceProbes).fill(-1);
          for (const r of store.results(run.id))
            if (r.category === IMAGE_REFERENCE)
              far[Number(r.itemKey.split("/")[1])] = r.checks?.reference === true ? 0 : 1;
          return [name, far];
        }),
      );
      return { nodes: buildScoreboard(store, "test-evaluator", Date.now()).nodes, distances };
    }).pipe(Effect.provide(layer)),
  );
  board = out.nodes;
  farPairs = out.distances;
  for (const name of compared) {
    const far = farPairs[name]!.filter((f) => f === 1).length;
    const e = entry(name);
    console.log(
      `${name.padEnd(12)} far ${far}/${farPairs[name]!.length} model test ${e.identity.modelTest} p ${e.identity.modelTestPValue?.toExponential(1)} penalties ${e.penalties ?? []}`,
    );
  }
}, 180_000);

afterAll(() => gateway.close());

describe("comparing image nodes with a reference of their model", () => {
  it("passes a node serving the reference's model, bit for bit or through a lossy step", () => {
    for (const name of ["honest", "reencoded"] as const) {
      const e = entry(name);
      expect(farPairs[name]).toEqual(Array(8).fill(0));
      expect(e.identity.modelTest).toBe("consistent");
      expect(e.identity.modelTestPValue).toBe(1);
      expect(e.identity.declaredModel).toBe("stable-diffusion");
      expect(e.penalties ?? []).toEqual([]);
      // The compared requests went to the node like any other probe: 3 + 1 + 6 content + 8.
      expect(gateway.requests.get(specs[name].address)).toBe(3 + 1 + (1 + 3 + 1 + 1) + 8);
    }
  });

  it("flags a node serving other weights of the same family and takes its service away", () => {
    const e = entry("otherWeights");
    expect(farPairs.otherWeights!.filter((f) => f === 1).length).toBeGreaterThanOrEqual(7);
    expect(e.identity.modelTest).toBe("inconsistent");
    expect(e.identity.modelTestPValue!).toBeLessThan(0.01);
    expect(e.penalties).toContain(IMAGE_REFERENCE_PENALTY);
    expect(e.qualifies).toEqual([]);
    // Its own image checks alone could not tell: a real picture per prompt, reproducible per seed.
    expect(e.images!.checks.seed.mean).toBe(1);
    expect(e.images!.checks.notBlank.mean).toBe(1);
  });

  it("flags pixel noise keyed on the request on every pair", () => {
    expect(farPairs.noise).toEqual(Array(8).fill(1));
    expect(entry("noise").identity.modelTest).toBe("inconsistent");
    expect(entry("noise").penalties).toContain(IMAGE_REFERENCE_PENALTY);
  });

  it("flags blank and seedless pictures on every txt2img pair (their faults leave edits honest)", () => {
    for (const name of ["blank", "ignoreSeed"] as const) {
      expect(farPairs[name]).toEqual([1, 0, 1, 0, 1, 0, 1, 0]);
      expect(entry(name).identity.modelTest).toBe("inconsistent");
      expect(entry(name).penalties).toContain(IMAGE_REFERENCE_PENALTY);
    }
    // A cached node's first picture is honest; the rest are someone else's prompt.
    const cached = farPairs.cached!.filter((f, i) => i % 2 === 0 && f === 1).length;
    expect(cached).toBeGreaterThanOrEqual(3);
    expect(farPairs.cached!.filter((_, i) => i % 2 === 1)).toEqual([0, 0, 0, 0]);
  });

  it("leaves a node whose model has no reference untested, without asking anything extra", () => {
    const e = entry("untested");
    expect(e.identity.modelTest).toBe("untested");
    expect(e.identity.declaredModel).toBeNull();
    expect(e.penalties ?? []).toEqual([]);
    expect(gateway.requests.get(specs.untested.address)).toBe(3 + 1 + (1 + 3 + 1 + 1));
  });

  it("the reference painted each compared request once", () => {
    expect(gateway.requests.get(specs.reference.address)).toBe(compared.length * 8);
    // A node painting every picture at 160 × 160 paints a square request's scene at another
    // resolution (the dev engine's scene is scale-free): only its other aspects are far.
    expect(farPairs.wrongSize!.some((f) => f === 1)).toBe(true);
  });

  it("publishes the reason with the entry, on the board and in the terminal table", () => {
    const parsed = Scoreboard.parse({ evaluator: "test-evaluator", generatedAt: 1, nodes: board });
    const table = boardTable(parsed);
    const short = (name: Name) => `${specs[name].address.slice(0, 12)}…${specs[name].address.slice(-4)}`;
    const line = (name: Name) => table.split("\n").find((l) => l.includes(short(name)))!;
    expect(line("otherWeights")).toContain("PICTURES-UNLIKE stable-diffusion reference");
    expect(line("honest")).toContain("stable-diffusion ok");
    expect(line("untested")).not.toContain("reference");
  });
});
