export { LocalnetError, type RunningLocalnet, startLocalnet } from "./localnet.js";
export { LOCAL_NODES, LocalnetConfig } from "./localnet-config.js";
