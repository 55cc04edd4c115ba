/**
 * CPU time of process trees and of the whole machine, from /proc (Linux), for the benches'
 * "CPU per operation" figures, which stay steady when other tenants make wall time noisy.
 */
import { readFile, readdir } from 'node:fs/promises';

/** USER_HZ: clock ticks per second in /proc, 100 on Linux. */
export const CLOCK_TICKS_PER_SEC = 100;

interface ProcStat {
  readonly ppid: number;
  /** utime + stime + cutime + cstime: its own CPU and that of its children it has reaped. */
  readonly ticks: number;
}

async function readStat(pid: number): Promise<ProcStat | null> {
  const text = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => null);
  if (text === null) return null;
  // Fields after the ")" that closes the command name: state, ppid, ..., utime (14th field of
  // the line), stime, cutime, cstime.
  const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const at = (i: number): number => Number(f[i] ?? 0);
  return { ppid: at(1), ticks: at(11) + at(12) + at(13) + at(14) };
}

/**
 * CPU seconds used so far by each tree rooted at one of `roots` (the process and every living
 * descendant, plus descendants already gone: a reaped child's time is in its parent's cutime).
 * A tree whose root has exited counts 0.
 */
export async function treeCpuSeconds(roots: readonly number[]): Promise<number[]> {
  const pids = (await readdir('/proc')).filter((name) => /^\d+$/.test(name)).map(Number);
  const stats = new Map<number, ProcStat>();
  await Promise.all(
    pids.map(async (pid) => {
      const stat = await readStat(pid);
      if (stat) stats.set(pid, stat);
    }),
  );
  const children = new Map<number, number[]>();
  for (const [pid, { ppid }] of stats) children.set(ppid, [...(children.get(ppid) ?? []), pid]);
  return roots.map((root) => {
    let ticks = 0;
    const stack = stats.has(root) ? [root] : [];
    for (let pid = stack.pop(); pid !== undefined; pid = stack.pop()) {
      ticks += stats.get(pid)?.ticks ?? 0;
      stack.push(...(children.get(pid) ?? []));
    }
    return ticks / CLOCK_TICKS_PER_SEC;
  });
}

/** Busy and total CPU seconds of the whole machine (all cores) so far. */
export async function machineCpuSeconds(): Promise<{ busy: number; total: number }> {
  const line = (await readFile('/proc/stat', 'utf8')).split('\n')[0] ?? '';
  const t = line.trim().split(/\s+/).slice(1, 9).map(Number);
  const at = (i: number): number => t[i] ?? 0;
  // user nice system idle iowait irq softirq steal
  const busy = at(0) + at(1) + at(2) + at(5) + at(6) + at(7);
  return { busy: busy / CLOCK_TICKS_PER_SEC, total: (busy + at(3) + at(4)) / CLOCK_TICKS_PER_SEC };
}

/**
 * CPU time (user + system, every thread) one process has used so far, in ms, without its
 * children (NaN for no pid, 0 once it is gone). Steadier than wall time on a shared machine.
 */
export async function processCpuMs(pid: number | undefined): Promise<number> {
  if (pid === undefined) return Number.NaN;
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return (ticks * 1000) / CLOCK_TICKS_PER_SEC;
}

/** Which of a Node process's threads: its JavaScript, V8's helpers (GC, compiler), the rest. */
export interface ThreadCpu {
  readonly main: number;
  /** `V8Worker` threads: concurrent and parallel garbage collection, optimizing compiles. */
  readonly v8: number;
  /** libuv's pool (file I/O, fsync, crypto), libvips and any other thread. */
  readonly other: number;
}

/**
 * CPU seconds used so far by one process's threads, grouped by what they run (their names in
 * /proc/PID/task/TID/stat). Threads that have ended are not counted.
 */
export async function threadCpuSeconds(pid: number): Promise<ThreadCpu> {
  const tids = await readdir(`/proc/${pid}/task`).catch(() => [] as string[]);
  const sums = { main: 0, v8: 0, other: 0 };
  await Promise.all(
    tids.map(async (tid) => {
      const text = await readFile(`/proc/${pid}/task/${tid}/stat`, 'utf8').catch(() => '');
      if (text === '') return;
      const name = text.slice(text.indexOf('(') + 1, text.lastIndexOf(')'));
      const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
      const seconds = (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SEC;
      const group = tid === String(pid) ? 'main' : name === 'V8Worker' ? 'v8' : 'other';
      sums[group] += seconds;
    }),
  );
  return sums;
}
