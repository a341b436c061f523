import { createHash } from "node:crypto";
import { createDevImageEngine } from "@pocket-ai/node/fakes";
import { keyPairFromPrivateKey, type NodeScore } from "@pocket-ai/protocol";
import { Effect, Layer } from "effect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EvaluatedNode, RunSettings } from "../src/config/evaluator-config.js";
import { EvaluatorStore } from "../src/db/evaluator-store.js";
import { makeOpenAiTransport } from "../src/probe/openai-transport.js";
import { ProbeTransport } from "../src/probe/probe-transport.js";
import { buildScoreboard } from "../src/publish/scoreboard.js";
import { runNode } from "../src/runs/run-node.js";
import { type DevGateway, type DevNodeSpec, startDevGateway } from "./dev-gateway.js";
import type { ImageFault } from "./image-faults.js";

const settings: RunSettings = {
  perNodeRatePerSecond: 5000,
  nodeConcurrency: 5,
  itemsPerTask: 0,
  identityPrompts: 0,
  speedProbes: 0,
  imageProbes: 12,
  imageSeedRepeats: 6,
  imageContentProbes: 3,
  imageReferenceProbes: 0,
  imageMinSide: 64,
  imageMaxSide: 192,
  evidenceDecay: 0.7,
  evidenceRounds: 8,
  roundIntervalMs: 60_000,
};
const names = ["good", "blank", "wrongSize", "ignoreSeed", "cached", "noise"] as const;
type Name = (typeof names)[number];
const specs = Object.fromEntries(
  names.map((name) => {
    const fault: ImageFault | undefined = name === "good" ? undefined : name;
    const spec: DevNodeSpec = {
      // Fixed keys and a fixed run seed: the probes (derived from both) are the same every run.
      address: keyPairFromPrivateKey(createHash("sha256").update(`image-node-${name}`).digest()).address,
      image: createDevImageEngine(),
      ...(fault === undefined ? {} : { imageFault: fault }),
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

let gateway: DevGateway;
let board: NodeScore[] = [];
const entry = (name: Name) => board.find((n) => n.address === specs[name].address)!;

beforeAll(async () => {
  gateway = await startDevGateway({ nodes: Object.values(specs), evaluatorKey: "sk-eval" });
  const transport = makeOpenAiTransport({
    baseUrl: gateway.baseUrl,
    apiKey: "sk-eval",
    timeoutMs: 20_000,
    headers: {},
  });
  const layer = Layer.merge(EvaluatorStore.layerTest, Layer.succeed(ProbeTransport, transport));
  board = await Effect.runPromise(
    Effect.gen(function* () {
      yield* Effect.forEach(
        names,
        (name) => runNode({ node: node(name), tasks: [], settings, seed: 20_261_202 }),
        {
          concurrency: settings.nodeConcurrency,
        },
      );
      return buildScoreboard(yield* EvaluatorStore, "test-evaluator", Date.now()).nodes;
    }).pipe(Effect.provide(layer)),
  );
  const pct = (e: { mean: number } | undefined) =>
    e === undefined ? "-" : (e.mean * 100).toFixed(0).padStart(3);
  for (const name of names) {
    const e = entry(name);
    const f = e.images!;
    const checks = Object.entries(f.checks).map(([k, v]) => `${k} ${pct(v)}%`);
    console.log(
      `${name.padEnd(10)} images ${pct(e.categories.images)}% [${e.categories.images!.lower.toFixed(2)}, ${e.categories.images!.upper.toFixed(2)}] n=${e.categories.images!.n} | ${checks.join(" ")} | seedDist ${f.seedDistance?.toFixed(3)} minDupDist ${f.duplicateDistance?.toFixed(3)} pairs ${f.nearDuplicatePairs} cached ${e.identity.cachedAnswers}`,
    );
  }
}, 180_000);

afterAll(() => gateway.close());

describe("evaluating image nodes", () => {
  it("scores an honest node high on every check", () => {
    const good = entry("good");
    expect(good.categories.images!.lower).toBeGreaterThan(0.9);
    expect(good.overall).toEqual(good.categories.images);
    expect(good.images!.seedDistance).toBe(0);
    expect(good.images!.duplicateDistance!).toBeGreaterThan(0.3);
    expect(good.identity.cachedAnswers).toBe(false);
    expect(good.errorRate).toBe(0);
    // Every probe went to the node: 12 first asks, 6 repeats and 3 of each content check (an
    // img2img probe asks three strengths).
    expect(gateway.requests.get(specs.good.address)).toBe(12 + 6 + 3 * (1 + 3 + 1 + 1));
    const f = good.images!.checks;
    expect([f.colour, f.img2img, f.inpaint, f.outpaint].map((e) => [e!.mean, e!.n])).toEqual([
      [1, 3],
      [1, 3],
      [1, 3],
      [1, 3],
    ]);
  });

  it("fails a blank node on the pixel statistics only", () => {
    const f = entry("blank").images!.checks;
    expect(f.notBlank.mean).toBe(0);
    expect([f.png.mean, f.size.mean, f.seed.mean]).toEqual([1, 1, 1]);
    // Blank pictures are not compared with each other: not also flagged as cached.
    expect(f.distinct.n).toBe(0);
    expect(entry("blank").identity.cachedAnswers).toBe(false);
  });

  it("fails a node that ignores the size on the size check only", () => {
    const f = entry("wrongSize").images!.checks;
    expect(f.size.mean).toBe(0);
    expect([f.png.mean, f.notBlank.mean, f.seed.mean, f.distinct.mean]).toEqual([1, 1, 1, 1]);
  });

  it("fails a node that ignores the seed on reproducibility, with the distance measured", () => {
    const e = entry("ignoreSeed");
    expect(e.images!.checks.seed.mean).toBe(0);
    expect(e.images!.seedDistance!).toBeGreaterThan(0.3);
    expect([e.images!.checks.size.mean, e.images!.checks.distinct.mean]).toEqual([1, 1]);
    expect(e.identity.cachedAnswers).toBe(false);
  });

  it("flags a node serving one cached picture for every prompt", () => {
    const e = entry("cached");
    expect(e.identity.cachedAnswers).toBe(true);
    expect(e.images!.checks.distinct.mean).toBe(0);
    expect(e.images!.nearDuplicatePairs).toBe(66);
    expect([e.images!.checks.size.mean, e.images!.checks.notBlank.mean]).toEqual([1, 1]);
  });

  it("fails pixel noise keyed on prompt and seed on every content check, and only there", () => {
    const f = entry("noise").images!.checks;
    expect([f.png.mean, f.size.mean, f.notBlank.mean, f.seed.mean, f.distinct.mean]).toEqual([1, 1, 1, 1, 1]);
    expect([f.colour!.mean, f.img2img!.mean, f.inpaint!.mean, f.outpaint!.mean]).toEqual([0, 0, 0, 0]);
  });

  it("ranks the honest node above every faulty one", () => {
    for (const name of names.slice(1)) {
      expect(entry("good").categories.images!.lower).toBeGreaterThan(entry(name).categories.images!.mean);
    }
  });
});
