import { type Catalog, listModelNames, resolveModelName, serviceCreated } from "@pocket-ai/protocol";

/** How many nodes serve a model now, and how many of them support each feature. */
export interface ModelAvailability {
  readonly nodes: number;
  readonly capabilities?: Readonly<Record<string, number>> | undefined;
}

/**
 * `GET /v1/models` in OpenAI's list shape. Each entry also says what it is on Pocket AI: the
 * service and tier it resolves to, the service's kind and class (model-named, quality or skill),
 * its operations, the tier's limits and price per call (or per standard image) in micro-USD,
 * how many nodes can serve it now, and how many of them support each feature a request may need
 * (`capabilities`: `n`, `tools`, `jsonMode`, `jsonSchema`, `logprobs`, `promptLogprobs`,
 * `tokenPrompts`, `streaming`, `embeddings`, `images.*`…): a request that needs a feature no node
 * has is refused with `NO_CAPABLE_NODE`. `created` is the service's (`serviceCreated`): a constant
 * per model, never the time of the call, so two reads differ only in what nodes serve.
 */
export function modelsList(catalog: Catalog, availability: ReadonlyMap<string, ModelAvailability>) {
  const data = listModelNames(catalog).flatMap((name) => {
    const entry = modelEntry(catalog, availability, name);
    return entry === undefined ? [] : [entry];
  });
  return { object: "list" as const, data };
}

/**
 * `GET /v1/models/{id}`: one entry of {@link modelsList}, for any name the catalog resolves (a
 * listed name, an alias, or `service:tier`); `undefined` for a name it does not know.
 */
export function modelEntry(
  catalog: Catalog,
  availability: ReadonlyMap<string, ModelAvailability>,
  name: string,
) {
  const resolved = resolveModelName(catalog, name);
  if (!resolved.ok) return undefined;
  const { service, tier, modelName } = resolved.value;
  const available = availability.get(name) ?? availability.get(modelName);
  const nodes = available?.nodes ?? 0;
  return {
    id: name,
    object: "model" as const,
    created: serviceCreated(service),
    owned_by: "pocket-ai",
    pocket: {
      model_name: modelName,
      service_id: service.id,
      display_name: service.displayName,
      kind: service.kind,
      service_class: service.class,
      quality: service.quality ?? null,
      operations: service.operations,
      tier: tier.id,
      tier_description: tier.description,
      limits: tier.limits,
      price_micro_usd: tier.priceMicroUsd,
      price_unit: service.kind === "image" ? "standard image" : "call",
      available_nodes: nodes,
      capabilities: available?.capabilities ?? {},
    },
  };
}
