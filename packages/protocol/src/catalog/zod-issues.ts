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
 * How a path is written: `"dotted"` as configuration names its fields (`services.0.tiers`),
 * `"openai"` as OpenAI's API names a request's fields in `param` (`messages[0].role`).
 */
export type IssuePathStyle = "dotted" | "openai";

/**
 * The path of a zod issue, e.g. `"services.0.tiers.1.priceMicroUsd"` (dotted) or
 * `"messages[0].role"` (openai); for an unknown key the key itself is appended, so the path names
 * the offending field. Empty for the root.
 *
 * @example
 * ```ts
 * zodIssuePath({ code: "custom", path: ["messages", 0, "role"], message: "bad", input: 1 }); // "messages.0.role"
 * zodIssuePath({ code: "custom", path: ["messages", 0, "role"], message: "bad", input: 1 }, "openai"); // "messages[0].role"
 * ```
 */
export function zodIssuePath(issue: Issue, style: IssuePathStyle = "dotted"): string {
  const primary = primaryIssue(issue);
  const path: PropertyKey[] = [...primary.path];
  if (primary.code === "unrecognized_keys" && primary.keys.length > 0) path.push(primary.keys[0] ?? "");
  if (style === "dotted") return path.map((part) => String(part)).join(".");
  let written = "";
  for (const part of path) {
    if (typeof part === "number") written += `[${part}]`;
    else written += written === "" ? String(part) : `.${String(part)}`;
  }
  return written;
}

/**
 * A one-line, human explanation of the first few zod issues: `"path: message; path: message"`,
 * each path written in `style`. Used as the `detail` of INVALID_CONFIG and INVALID_REQUEST errors.
 *
 * @example
 * ```ts
 * describeZodIssues([{ code: "custom", path: ["n"], message: "too big", input: 99 }]); // "n: too big"
 * ```
 */
export function describeZodIssues(
  issues: readonly Issue[],
  max = 3,
  style: IssuePathStyle = "dotted",
): string {
  const shown = issues.slice(0, max).map((issue) => {
    const path = zodIssuePath(issue, style);
    const message = primaryIssue(issue).message;
    return path === "" ? message : `${path}: ${message}`;
  });
  const more = issues.length > max ? `; and ${issues.length - max} more` : "";
  return shown.join("; ") + more;
}
