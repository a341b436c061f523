export { ORGANIC_SAMPLES_PATH, OrganicSample, OrganicSamples } from "./organic-sample.js";
export {
  promptCharsOf,
  TRAFFIC_MIX_PATH,
  TrafficMix,
  TrafficShape,
  trafficShapeKey,
  trafficShapeOf,
} from "./traffic-mix.js";
