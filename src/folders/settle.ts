/**
 * When a file found changed is quiet enough to be read and sent (the scanner's rule). A file
 * modified less than the window ago is left for the next scan: a file still being written (a
 * copy, a download, a program appending) would otherwise be sent, and trashed at every other
 * node, once per scan it is caught in. On a file system whose timestamps are whole seconds the
 * window is 2 s, so that a further write within the same second cannot keep size and mtime.
 */
import { wholeMs } from './disk-state.js';

const COARSE_SETTLE_MS = 2000;
const FINE_SETTLE_MS = 1000;

/**
 * How long until a file last modified at `mtimeNs` has settled: 0 when it has. `settleMs`
 * replaces the window (tests). An mtime in the future (clock skew, copied timestamps) cannot
 * be waited out: 0 as well.
 */
export function settleWaitMs(mtimeNs: bigint, nowMs: number, settleMs?: number): number {
  const window = settleMs ?? (mtimeNs % 1_000_000_000n === 0n ? COARSE_SETTLE_MS : FINE_SETTLE_MS);
  const age = nowMs - wholeMs(mtimeNs);
  return age >= window || age < -window ? 0 : window - age;
}
