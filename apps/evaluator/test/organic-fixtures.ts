import { createHash } from "node:crypto";
import { keyPairFromPrivateKey } from "@pocket-ai/protocol";
import type { EvaluatedNode } from "../src/config/evaluator-config.js";

/** Openings of short stories: the prompts of customers' traffic in the organic-check tests. */
export const STORY_PROMPTS = [
  "The farmer walked to the market and",
  "In the old city the river",
  "Every morning the teacher",
  "One day a robot in the library",
  "The train left the mountain station and",
  "Near the garden the children",
];

/** A node address of a test, the same every run: `label` and `i` name it. */
export const testNodeAddress = (label: string, i: number): string =>
  keyPairFromPrivateKey(createHash("sha256").update(`${label}-${i}`).digest()).address;

/** A text node of the development model that customers reach as `dev-text` and that declares `dev-q1`. */
export const devTextNode = (address: string): EvaluatedNode => ({
  address,
  serviceId: "dev-text",
  model: "dev-text",
  declaredModel: "dev-q1",
  kind: "text",
});
