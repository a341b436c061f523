import type { z } from "zod";

type Issue = z.core.$ZodIssue;

/**
 * The issue that best explains a failure. For a union (e.g. `content` as string or parts array)
 * zod reports one `invalid_union`; when one branch matched the value's shape and failed deeper
 * (`content.1.type`), that deeper issue is the useful one, so it is returned with its full path.
 */
function primaryIssue(issue: Issue): Issue {
  if (issue.code !== "invalid_union" || issue.errors.length === 0) return issue;
  let best: Issue | undefined;
  for (const branch of issue.errors) {
    const first = branch[0];
    if (
      first !== undefined &&
      first.path.length > 0 &&
      (best === undefined || first.path.length > best.path.length)
    ) {
      best = first;
    }
  }
  if (best === undefined) return issue;
  return primaryIssue({ ...best, path: [...issue.path, ...best.path] } as Issue);
}

/**
 * The dotted path of a zod issue, e.g. `"services.0.tiers.1.priceMicroUsd"`; for an unknown key
 * the key itself is appended, so the path names the offending field. Empty for the root.
 *
 * @example
 * ```ts
 * zodIssuePath({ code: "custom", path: ["messages", 0, "role"], message: "bad", input: 1 }); // "messages.0.role"
 * ```
 */
export function zodIssuePath(issue: Issue): string {
  const primary = primaryIssue(issue);
  const path = primary.path.map((part) => String(part));
  if (primary.code === "unrecognized_keys" && primary.keys.length > 0) path.push(primary.keys[0] ?? "");
  return path.join(".");
}

/**
 * A one-line, human explanation of the first few zod issues: `"path: message; path: message"`.
 * Used as the `detail` of INVALID_CONFIG and INVALID_REQUEST errors.
 *
 * @example
 * ```ts
 * describeZodIssues([{ code: "custom", path: ["n"], message: "too big", input: 99 }]); // "n: too big"
 * ```
 */
export function describeZodIssues(issues: readonly Issue[], max = 3): string {
  const shown = issues.slice(0, max).map((issue) => {
    const path = zodIssuePath(issue);
    const message = primaryIssue(issue).message;
    return path === "" ? message : `${path}: ${message}`;
  });
  const more = issues.length > max ? `; and ${issues.length - max} more` : "";
  return shown.join("; ") + more;
}
