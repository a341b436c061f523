import { setFlagsFromString } from "node:v8";

/** The V8 option this module turns off, and the one an operator passes to keep it on. */
const PRETENURING_OFF = "--no-allocation-site-pretenuring";
const PRETENURING_ON = "--allocation-site-pretenuring";

let tuned = false;

/**
 * The V8 options {@link tuneHeapForServing} sets for a process started with `execArgv`: none when
 * the command line already decides pretenuring either way.
 */
export function servingHeapFlags(execArgv: readonly string[]): readonly string[] {
  return execArgv.includes(PRETENURING_ON) || execArgv.includes(PRETENURING_OFF) ? [] : [PRETENURING_OFF];
}

/**
 * Turns V8's allocation-site pretenuring off for a process that serves requests, unless the
 * process was started with `--allocation-site-pretenuring` (or already with it off).
 *
 * Pretenuring allocates straight into the old generation at the sites whose objects tended to
 * survive a young collection. A server's per-request objects live a few milliseconds, but enough of
 * them are alive at each scavenge (requests in flight) for V8 to pretenure their sites. Every
 * request's objects from such a site then sit in the old generation until the next full
 * collection, and everything young they point to survives the scavenges with them: the request's
 * whole graph is copied twice and promoted, full collections come every few seconds, and their
 * concurrent marking runs on the other cores. Measured in `tooling/bench` (thirteenth round):
 * the bytes surviving each scavenge fell by about two thirds in the gateway and half in the node.
 *
 * The option is read by V8 when it acts on its pretenuring feedback, so setting it at start-up,
 * before the first request, takes effect. Once per process; returns the options it set.
 */
export function tuneHeapForServing(execArgv: readonly string[] = process.execArgv): readonly string[] {
  if (tuned) return [];
  tuned = true;
  const flags = servingHeapFlags(execArgv);
  for (const flag of flags) setFlagsFromString(flag);
  return flags;
}
