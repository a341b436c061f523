/**
 * A one-line progress bar for the CLI, redrawn in place on a terminal (plain lines elsewhere, at
 * most one per 10%), per node being evaluated.
 */
export function progressBar(
  label: string,
  write: (text: string) => void = (t) => process.stderr.write(t),
  tty = process.stderr.isTTY === true,
) {
  let lastTenth = -1;
  let last = 0;
  return (done: number, total: number) => {
    const share = total === 0 ? 1 : done / total;
    if (!tty) {
      const tenth = Math.floor(share * 10);
      if (tenth !== lastTenth) write(`${label} ${Math.round(share * 100)}% (${done}/${total})\n`);
      lastTenth = tenth;
      return;
    }
    const now = Date.now();
    if (done < total && now - last < 100) return;
    last = now;
    const width = 30;
    const filled = Math.round(share * width);
    write(
      `\r${label} [${"#".repeat(filled)}${"-".repeat(width - filled)}] ${done}/${total}${done === total ? "\n" : ""}`,
    );
  };
}
