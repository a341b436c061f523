export { Catalog, parseCatalog } from "./catalog.js";
export { DEFAULT_CATALOG } from "./default-catalog.js";
export { MEASURED_SERVICES } from "./default-measured-services.js";
export { LONG_CONTEXT_LIMITS, LONG_CONTEXT_PRICE_MICRO_USD, SEED_TEXT_LIMITS } from "./default-text-tiers.js";
export { checkEmbeddingLimits, type EmbeddingCall } from "./embedding-limits.js";
export { checkImageLimits, type ImageCallSize, imageUnits, uploadPixelBudget } from "./image-limits.js";
export type { LimitTarget } from "./limit-target.js";
export { CatalogOverrides, mergeCatalog, TierPatch } from "./merge-catalog.js";
export { listModelNames, modelNameFor, type ResolvedModel, resolveModelName } from "./model-names.js";
export { defaultTierOf, findService, findTier, operationSupported } from "./service-lookup.js";
export {
  CATALOG_CREATED,
  EmbeddingOperation,
  type EmbeddingServiceSpec,
  ImageOperation,
  type ImageServiceSpec,
  KNOWN_QUALITY_CATEGORIES,
  QualityTarget,
  ServiceClass,
  ServiceId,
  ServiceOperation,
  ServiceSpec,
  serviceCreated,
  TextOperation,
  type TextServiceSpec,
} from "./service-spec.js";
export { checkTextLimits, clampMaxTokens, type TextCallSize } from "./text-limits.js";
export { coveredTier, tierCovers } from "./tier-cover.js";
export {
  EmbeddingTierLimits,
  EmbeddingTierSpec,
  ImageTierLimits,
  ImageTierSpec,
  isEmbeddingTier,
  isImageTier,
  isTextTier,
  TextTierLimits,
  TextTierSpec,
  TierHardware,
  TierId,
  TierSpec,
} from "./tier-spec.js";
