import type { FakeComfyUi } from "@pocket-ai/node/fakes";
import type { RgbaImage } from "@pocket-ai/png";
import { DEFAULT_CATALOG, findService, findTier, imageUnits, isImageTier } from "@pocket-ai/protocol";
import { expect } from "vitest";
import { type LiveNetwork, ledgerRelay } from "./live-network.js";

/**
 * Checks shared by the tests that drive a node in front of the ComfyUI-shaped fake: what the last
 * workflow held, test pictures and their pixels, and the relay behind an image answer.
 */

export type WorkflowNode = { class_type: string; inputs: Record<string, unknown> };

/** The nodes of `type` in the last workflow `fake` was sent. */
export function workflowNodes(fake: FakeComfyUi, type: string): WorkflowNode[] {
  const workflow = fake.prompts.at(-1) as Record<string, WorkflowNode> | undefined;
  return Object.values(workflow ?? {}).filter((node) => node.class_type === type);
}

/** The one node of `type` in the last workflow `fake` was sent. */
export function lastWorkflowNode(fake: FakeComfyUi, type: string): WorkflowNode | undefined {
  const found = workflowNodes(fake, type);
  if (found.length > 1) throw new Error(`the workflow has ${found.length} ${type} nodes`);
  return found[0];
}

/** A smooth opaque picture, different in every pixel, so a kept or repainted pixel is visible. */
export function gradient(width: number, height: number): RgbaImage {
  const data = new Uint8Array(width * height * 4);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) data.set([(x * 4) % 256, (y * 4) % 256, 128, 255], (y * width + x) * 4);
  return { width, height, data };
}

/** OpenAI's mask for a picture: the left half transparent (to repaint), the right half opaque (kept). */
export function leftHalfMask(width: number, height: number): RgbaImage {
  const data = new Uint8Array(width * height * 4);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) data.set([0, 0, 0, x < width / 2 ? 0 : 255], (y * width + x) * 4);
  return { width, height, data };
}

export const pixel = (image: RgbaImage, x: number, y: number) =>
  Array.from(image.data.subarray((y * image.width + x) * 4, (y * image.width + x) * 4 + 4));

const standard = (() => {
  const tier = findTier(findService(DEFAULT_CATALOG, "stable-diffusion")!, "standard");
  if (tier === undefined || !isImageTier(tier)) throw new Error("the catalog has no standard image tier");
  return tier;
})();

/**
 * The relay behind an image answer of the network's first node (`header` reads the answer's
 * headers): in the ledger as `ok`, with the images made, priced in standard images, claimable by its node.
 * Returns its request hash.
 */
export async function expectImageRelaySettled(
  net: LiveNetwork,
  header: (name: string) => string | null | undefined,
  operation: string,
  size: { width: number; height: number; n: number },
): Promise<string> {
  const requestHash = header("x-pocket-relay") ?? "";
  expect(requestHash).toMatch(/^[0-9a-f]{64}$/);
  expect(header("x-pocket-node")).toBe(net.nodes[0]!.node.key.address);
  expect(header("x-pocket-service")).toBe("stable-diffusion");
  const units = imageUnits(standard, size.width, size.height, size.n);
  expect(await ledgerRelay(net, requestHash)).toMatchObject({
    operation,
    outcome: "ok",
    nodeAddress: net.nodes[0]!.node.key.address,
    images: size.n,
    priceMicroUsd: units * standard.priceMicroUsd,
    claimable: true,
  });
  return requestHash;
}
