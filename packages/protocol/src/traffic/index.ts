export {
  ORGANIC_MAX_CHARS,
  ORGANIC_MAX_MESSAGES,
  ORGANIC_SAMPLES_PATH,
  OrganicMessage,
  OrganicSample,
  type OrganicSampleKind,
  OrganicSamples,
  organicRequestOf,
} from "./organic-sample.js";
export {
  promptCharsOf,
  TRAFFIC_MIX_PATH,
  TrafficMix,
  TrafficShape,
  trafficShapeKey,
  trafficShapeOf,
} from "./traffic-mix.js";
