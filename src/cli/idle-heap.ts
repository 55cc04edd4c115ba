/**
 * Gives V8's spare heap back when the node is idle (docs/benchmarks.md, "Memory, fourth pass").
 * A node that has started, or finished a burst (a sync, a catch-up), keeps the heap pages it grew
 * to: V8 collects and shrinks only when something allocates, and an idle node allocates almost
 * nothing, so no collection comes. Every CHECK_MS, if the event loop was nearly idle since the
 * last check and the heap holds at least SLACK_BYTES more than is in use, one memory-reducing
 * full collection (V8's "last resort" flavour: compacts, shrinks the young generation) runs,
 * at most once per MIN_GAP_MS. Measured on an idle default node: heap 32.9 -> 24.5 MB committed,
 * RSS -6 to -9 MB, ~60 ms of CPU once. It never runs while the loop is busy, so the hot paths
 * pay nothing; MOSAIC_MEMORY_TUNING=off leaves it off with the other memory settings.
 */
import { performance, type EventLoopUtilization } from 'node:perf_hooks';
import { getHeapStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

const CHECK_MS = 3_000;
const MIN_GAP_MS = 60_000;
const SLACK_BYTES = 4 * 1024 * 1024;
/** Share of the last CHECK_MS the event loop spent running callbacks. */
const IDLE_UTILIZATION = 0.05;

export interface HeapState {
  /** Event-loop utilization since the last check, 0-1. */
  readonly utilization: number;
  readonly totalBytes: number;
  readonly usedBytes: number;
  /** ms since the last compaction, or Infinity if none yet. */
  readonly sinceLastMs: number;
}

/** Whether to compact now: idle, heap slack worth taking back, not too soon after the last. */
export function shouldCompact(state: HeapState): boolean {
  return (
    state.utilization < IDLE_UTILIZATION &&
    state.totalBytes - state.usedBytes >= SLACK_BYTES &&
    state.sinceLastMs >= MIN_GAP_MS
  );
}

type Gc = (options: { type: 'major'; execution: 'sync'; flavor: 'last-resort' }) => void;

/**
 * V8's gc() without --expose-gc on the command line (a flag the Dockerfile and operators need
 * not know of): the flag set at run time gives a new context the function.
 */
function loadGc(): Gc | null {
  const exposed = (globalThis as { gc?: Gc }).gc;
  if (typeof exposed === 'function') return exposed;
  try {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as unknown;
    return typeof gc === 'function' ? (gc as Gc) : null;
  } catch {
    return null;
  }
}

/** Starts the idle checks (an unref'd timer: it never keeps the process alive); returns a stop. */
export function compactHeapWhenIdle(env: NodeJS.ProcessEnv = process.env): () => void {
  if (env['MOSAIC_MEMORY_TUNING'] === 'off') return () => undefined;
  let gc: Gc | null | undefined;
  let lastAt = Number.NEGATIVE_INFINITY;
  let elu: EventLoopUtilization = performance.eventLoopUtilization();
  const timer = setInterval(() => {
    const now = performance.eventLoopUtilization();
    const { utilization } = performance.eventLoopUtilization(now, elu);
    elu = now;
    const heap = getHeapStatistics();
    const state = {
      utilization,
      totalBytes: heap.total_heap_size,
      usedBytes: heap.used_heap_size,
      sinceLastMs: performance.now() - lastAt,
    };
    if (!shouldCompact(state)) return;
    gc ??= loadGc();
    if (gc === null) {
      clearInterval(timer);
      return;
    }
    gc({ type: 'major', execution: 'sync', flavor: 'last-resort' });
    lastAt = performance.now();
    // The collection's own time is not idleness to be measured next time.
    elu = performance.eventLoopUtilization();
  }, CHECK_MS);
  timer.unref();
  return () => {
    clearInterval(timer);
  };
}
