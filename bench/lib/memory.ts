/** Memory figures of a node process from outside: /proc (Linux) and the node's /metrics. */
import { readFile, writeFile } from 'node:fs/promises';
import type { BenchNode } from './nodes.js';

export interface ProcMemory {
  /** VmRSS, RssAnon, RssFile (+ RssShmem), VmHWM (peak RSS so far), in MB. */
  readonly rssMb: number;
  readonly anonMb: number;
  readonly fileMb: number;
  readonly peakMb: number;
  readonly threads: number;
}

export async function procMemory(pid: number | undefined): Promise<ProcMemory> {
  const status =
    pid === undefined ? '' : await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  const kb = (field: string): number => {
    const found = new RegExp(`^${field}:\\s+(\\d+)`, 'm').exec(status)?.[1];
    return found === undefined ? Number.NaN : Number(found) / 1024;
  };
  return {
    rssMb: kb('VmRSS'),
    anonMb: kb('RssAnon'),
    fileMb: kb('RssFile') + kb('RssShmem'),
    peakMb: kb('VmHWM'),
    threads: kb('Threads') * 1024,
  };
}

/** V8's heap and the memory outside it that V8 knows of (Buffers), from the node's /metrics, MB. */
export async function v8Heap(node: BenchNode): Promise<{
  usedMb: number;
  totalMb: number;
  externalMb: number;
  /** GC time since start, ms, and how many: full (major) and young (minor) collections. */
  gc: { majorMs: number; majors: number; minorMs: number; minors: number };
}> {
  const res = await fetch(`${node.url}/metrics`, { headers: { cookie: node.cookie } });
  const text = res.ok ? await res.text() : '';
  const metric = (name: string): number => {
    const found = new RegExp(`^${name} ([0-9.e+]+)`, 'm').exec(text)?.[1];
    return found === undefined ? Number.NaN : Number(found) / 1e6 / 1.048576;
  };
  const gc = (what: 'sum' | 'count', kind: string): number => {
    const found = new RegExp(
      `^nodejs_gc_duration_seconds_${what}\\{kind="${kind}"\\} ([0-9.e+-]+)`,
      'm',
    ).exec(text)?.[1];
    return found === undefined ? 0 : Number(found) * (what === 'sum' ? 1000 : 1);
  };
  return {
    gc: {
      majorMs: gc('sum', 'major') + gc('sum', 'incremental'),
      majors: gc('count', 'major'),
      minorMs: gc('sum', 'minor'),
      minors: gc('count', 'minor'),
    },
    usedMb: metric('nodejs_heap_size_used_bytes'),
    totalMb: metric('nodejs_heap_size_total_bytes'),
    externalMb: metric('nodejs_external_memory_bytes'),
  };
}

/**
 * Samples the RSS of `pids` every `everyMs` until stopped; `stop()` gives each one's highest
 * sample and its VmHWM (the kernel's own peak, which misses nothing between samples).
 */
export function sampleRss(
  pids: readonly (number | undefined)[],
  everyMs = 100,
): { stop(): Promise<{ sampledMb: number[]; hwmMb: number[] }> } {
  const highest = pids.map(() => 0);
  const timer = setInterval(() => {
    void Promise.all(
      pids.map(async (pid, i) => {
        const { rssMb } = await procMemory(pid);
        if (rssMb > (highest[i] ?? 0)) highest[i] = rssMb;
      }),
    );
  }, everyMs);
  return {
    async stop() {
      clearInterval(timer);
      const hwm = await Promise.all(pids.map(async (pid) => (await procMemory(pid)).peakMb));
      return { sampledMb: highest, hwmMb: hwm };
    },
  };
}

/**
 * Resets the kernel's peak RSS (VmHWM) of `pid` to its current RSS (Linux: `5` written to
 * /proc/PID/clear_refs); false where that is not possible (the peak then counts from the start).
 */
export async function resetPeak(pid: number | undefined): Promise<boolean> {
  if (pid === undefined) return false;
  return writeFile(`/proc/${pid}/clear_refs`, '5').then(
    () => true,
    () => false,
  );
}
