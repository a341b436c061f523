import { z } from "zod";

/**
 * A gateway's answer to a {@link ProofSubmission}, gateway → node: `proven` with the uPOKT minted
 * for the claim under the session's pinned price (a decimal string, since uPOKT sums outgrow
 * 2^53; see `mintForClaim`), or `rejected` with `mintedUpokt: "0"` and a `detail` saying why (the
 * error code's detail, e.g. from `verifyClaimProof`).
 *
 * @example
 * ```ts
 * ProofAck.parse({ status: "proven", mintedUpokt: "300000000" });
 * ProofAck.parse({ status: "rejected", mintedUpokt: "0", detail: "path does not lead to the claimed root" });
 * ```
 */
export const ProofAck = z
  .strictObject({
    status: z.enum(["proven", "rejected"]),
    mintedUpokt: z.string().regex(/^(0|[1-9][0-9]{0,29})$/, {
      message: "expected a non-negative integer in decimal, without leading zeros",
    }),
    detail: z.string().max(1024).optional(),
  })
  .refine((ack) => ack.status === "proven" || ack.mintedUpokt === "0", {
    message: "a rejected proof mints nothing",
    path: ["mintedUpokt"],
  });

/** A parsed {@link ProofAck}. */
export type ProofAck = z.infer<typeof ProofAck>;
