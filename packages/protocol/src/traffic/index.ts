export {
  promptCharsOf,
  TRAFFIC_MIX_PATH,
  TrafficMix,
  TrafficShape,
  trafficShapeKey,
  trafficShapeOf,
} from "./traffic-mix.js";
