import { DEFAULT_CATALOG, generateKeyPair, type RelayOperation, resolveModelName } from "@pocket-ai/protocol";
import { Effect } from "effect";
import { NodeRegistry } from "../../src/registry/node-registry.js";
import { Dispatcher, type DispatchRequest, type DispatchStreamEvent } from "../../src/relay/dispatcher.js";
import type { TestNetwork } from "./test-network.js";
import { until } from "./until.js";

const app = generateKeyPair();

/** A function tool for chats with tools: the weather in a city (its `city` argument required). */
export const weatherTool = {
  type: "function" as const,
  function: {
    name: "weather",
    description: "The weather in a city",
    parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
  },
};

/** For tests: a dispatch request as the front door would build it. */
export function dispatchRequest(
  model: string,
  body: Record<string, unknown>,
  options: { operation?: RelayOperation; targetNode?: string } = {},
): DispatchRequest {
  const resolved = resolveModelName(DEFAULT_CATALOG, model);
  if (!resolved.ok) throw new Error(resolved.error.message);
  return {
    application: { id: "app_test", address: app.address },
    keyId: "key_test",
    target: resolved.value,
    operation: options.operation ?? "completions",
    body: { model, ...body },
    ...(options.targetNode === undefined ? {} : { targetNode: options.targetNode }),
  };
}

export const unary = (net: TestNetwork, request: DispatchRequest) =>
  net.managed.runPromise(Effect.either(Effect.flatMap(Dispatcher, (d) => d.unary(request))));

export const streamed = (net: TestNetwork, request: DispatchRequest) =>
  net.managed.runPromise(
    Effect.either(
      Effect.flatMap(Dispatcher, (d) => d.stream(request)).pipe(
        Effect.flatMap((events) =>
          Effect.promise(async () => {
            const collected: DispatchStreamEvent[] = [];
            for await (const event of events) collected.push(event);
            return collected;
          }),
        ),
      ),
    ),
  );

/** Waits until the registry knows `count` nodes. */
export async function registered(net: TestNetwork, count: number): Promise<void> {
  await until(
    async () => (await net.managed.runPromise(Effect.map(NodeRegistry, (r) => r.list().length))) >= count,
    `${count} registered nodes`,
  );
}
