/**
 * Timing spans of folder sync's stages, for profiling (docs/benchmarks.md, "Where the time
 * goes"): with MOSAIC_FOLDER_TRACE=1, each named stage sums its wall milliseconds (concurrent
 * spans add up), counts its calls, and keeps when it first started and last ended; the table
 * goes to stderr once a second while it changes. Off (the default), a span costs one branch.
 */
const enabled = process.env['MOSAIC_FOLDER_TRACE'] === '1';
/**
 * MOSAIC_FOLDER_TRACE_EVENTS=stage,stage: each span of these stages is also printed as it ends,
 * with its start and end in epoch seconds (a timeline to line up with the other node's).
 */
const events = new Set(
  (process.env['MOSAIC_FOLDER_TRACE_EVENTS'] ?? '').split(',').filter((s) => s !== ''),
);

interface Stage {
  ms: number;
  calls: number;
  items: number;
  first: number;
  last: number;
}

const stages = new Map<string, Stage>();
let changed = false;
let timer: NodeJS.Timeout | null = null;

const noop = (): void => {};

/** Starts a span of `stage` over `items` things (files, rows); call the result to end it. */
export function span(stage: string, items = 1): () => void {
  if (!enabled) return noop;
  const start = performance.now();
  return () => {
    const end = performance.now();
    if (events.has(stage)) {
      const at = (ms: number) => ((performance.timeOrigin + ms) / 1000).toFixed(3);
      process.stderr.write(
        `[folder event ${process.pid}] ${stage} ${at(start)}-${at(end)} ${(end - start).toFixed(0)} ms ${items} items\n`,
      );
    }
    let s = stages.get(stage);
    if (s === undefined) {
      s = { ms: 0, calls: 0, items: 0, first: start, last: end };
      stages.set(stage, s);
    }
    s.ms += end - start;
    s.calls++;
    s.items += items;
    s.last = Math.max(s.last, end);
    changed = true;
    timer ??= setInterval(print, 1000).unref();
  };
}

/** Runs `work` inside a span (tracing off: just `work()`, no promise of its own per call). */
export function timed<T>(stage: string, work: () => Promise<T>, items = 1): Promise<T> {
  return enabled ? traced(stage, work, items) : work();
}

async function traced<T>(stage: string, work: () => Promise<T>, items: number): Promise<T> {
  const end = span(stage, items);
  try {
    return await work();
  } finally {
    end();
  }
}

function print(): void {
  if (!changed) return;
  changed = false;
  const lines = [...stages]
    .sort((a, b) => a[1].first - b[1].first)
    .map(
      ([name, s]) =>
        `${name.padEnd(28)} ${s.ms.toFixed(0).padStart(7)} ms ${String(s.calls).padStart(6)} calls ${String(s.items).padStart(6)} items  ${(s.first / 1000).toFixed(2)}-${(s.last / 1000).toFixed(2)} s`,
    );
  process.stderr.write(`[folder trace ${process.pid}]\n${lines.join('\n')}\n`);
}
