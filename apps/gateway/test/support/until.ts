/**
 * Polls `condition` (every 5 ms) until it holds; rejects naming `what` if it never does within the
 * generous deadline. The deadline only ends a broken run: what the code has done, never how long
 * it took, decides a test.
 */
export async function until(
  condition: () => boolean | Promise<boolean>,
  what = "a condition",
  deadlineMs = 20_000,
): Promise<void> {
  const end = Date.now() + deadlineMs;
  while (!(await condition())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
