export {
  ClaimAck,
  type ClaimAckFields,
  createClaimAck,
  generateProofSeed,
  UnsignedClaimAck,
  verifyClaimAck,
} from "./claim-ack.js";
export { checkClaimAgainstLedger, type RelayLedgerTotals } from "./claim-ledger-check.js";
export {
  ClaimSubmission,
  type ClaimSubmissionFields,
  createClaimSubmission,
  type SettlementExpectations,
  UnsignedClaimSubmission,
  verifyClaimSubmission,
} from "./claim-submission.js";
export {
  createStreamCutReceipt,
  StreamCutReceipt,
  type StreamCutReceiptFields,
  UnsignedStreamCutReceipt,
  verifyStreamCutReceipt,
} from "./cut-receipt.js";
export type { ReceiptExpectations } from "./gateway-signed.js";
export {
  createProofAck,
  ProofAck,
  type ProofAckFields,
  UnsignedProofAck,
  verifyProofAck,
} from "./proof-ack.js";
export {
  createProofSubmission,
  ProofSubmission,
  type ProofSubmissionExpectations,
  type ProofSubmissionFields,
  UnsignedProofSubmission,
  verifyProofSubmission,
} from "./proof-submission.js";
export { MAX_CLAIM_WINDOW_MS, MAX_PROOF_WINDOW_MS } from "./settlement-windows.js";
