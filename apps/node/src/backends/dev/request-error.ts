/** A request the development backend refuses; the node maps it to an invalid-request error. */
export class DevBackendRequestError extends Error {
  override readonly name = "DevBackendRequestError";
}

/** Formats zod issues as one line, e.g. `width: Too big: expected number to be <=2048`. */
export function describeIssues(
  what: string,
  issues: readonly { readonly path: readonly PropertyKey[]; readonly message: string }[],
): DevBackendRequestError {
  const parts = issues.map((i) => `${i.path.map(String).join(".") || "request"}: ${i.message}`);
  return new DevBackendRequestError(`invalid ${what}: ${parts.join("; ")}`);
}
