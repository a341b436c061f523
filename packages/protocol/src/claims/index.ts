export { type ClaimProof, ClaimProofSchema, proveClaimLeaf } from "./claim-proof.js";
export { type ClaimRoot, ClaimRootSchema, claimRoot } from "./claim-root.js";
export {
  buildClaimTree,
  buildClaimTreeFrom,
  CLAIM_TREE_SLICES,
  type ClaimLeaf,
  type ClaimTree,
  type ClaimTreeSlices,
  claimTreeSteps,
  MAX_CLAIM_RELAYS,
} from "./claim-tree.js";
export { proofLeafIndex } from "./proof-leaf-index.js";
export {
  cutStreamComputeUnits,
  DEFAULT_RELAY_TOKEN_WEIGHTS,
  type RelayTokenWeights,
  type RelayWeighing,
  relayComputeUnits,
} from "./relay-compute-units.js";
export { verifyClaimProof } from "./verify-claim-proof.js";
