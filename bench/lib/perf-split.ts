/**
 * Where the whole machine's CPU went during a bench's timed part, by process and thread, from a
 * system-wide `perf record` (Debian's `linux-perf`; root, or `perf_event_paranoid` ≤ 0 for
 * kernel samples). The benches' CPU profiles (`--cpu-prof`) see one JavaScript thread only;
 * this also sees V8's background threads (optimising compilers, concurrent marking, parallel
 * scavenges), libuv's pool, the kernel's share of each, and what else ran (the file system's
 * kernel threads, idle). Samples at 499 Hz on every core: shares, not exact times.
 *
 *   BENCH_PERF=1 BENCH_ONLY=mosaic BENCH_BIG_MB=0 npm run bench:folder
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { promisify } from 'node:util';
import { formatTable } from './stats.js';

const run = promisify(execFile);

/** Samples per second per core. */
const FREQUENCY = 499;

export interface PerfRecording {
  /** Stops the recording (SIGINT: perf writes its file and exits); again: the same wait. */
  stop(): Promise<void>;
  readonly file: string;
}

/** Starts a system-wide recording into `file`; null (and a line why) when perf cannot run. */
export async function recordPerf(file: string): Promise<PerfRecording | null> {
  const found = await run('perf', ['--version']).catch(() => null);
  if (found === null) {
    console.log('  (BENCH_PERF: no `perf` on the PATH; Debian: apt-get install linux-perf)');
    return null;
  }
  const proc: ChildProcess = spawn(
    'perf',
    ['record', '-a', '-q', '-F', String(FREQUENCY), '-o', file],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  const exited = once(proc, 'exit');
  let stopped: Promise<unknown> | null = null;
  return {
    file,
    async stop() {
      stopped ??= (proc.kill('SIGINT'), exited);
      await stopped;
    },
  };
}

/** One sample: `comm pid/tid ip [sym] (dso)`. */
const SAMPLE = /^\s*(.+?)\s+(\d+)\/(\d+)\s+[0-9a-f]+\s*(.*?)\s*\(([^()]*)\)\s*$/;

/** What ran: the thread's kind, as Node and V8 name their threads. */
function threadKind(comm: string): string {
  if (comm === 'MainThread') return 'main';
  if (comm === 'V8Worker') return 'V8 workers';
  if (comm === 'libuv-worker') return 'libuv pool';
  return comm;
}

/** Where in the thread: the kernel, SQLite, V8's optimised code, Node and V8 (interpreter,
 * builtins, runtime, GC), the C library. */
function codeKind(dso: string): string {
  if (dso === '[kernel.kallsyms]') return 'kernel';
  if (dso.includes('better_sqlite3')) return 'SQLite';
  // Code V8 generated at run time: no file behind it (perf names the map it looks for).
  if (dso.startsWith('[JIT]') || /\/perf-\d+\.map$/.test(dso) || dso === '[unknown]')
    return 'JIT code';
  if (dso.endsWith('/node') || dso.endsWith('/bin/node')) return 'node';
  if (dso.includes('libc.so') || dso.includes('libstdc++')) return 'libc';
  return 'other';
}

/** What a V8 worker was doing, from the symbol's name. */
function v8WorkKind(sym: string): string | null {
  if (/compiler|turboshaft|[Mm]aglev|Assembler|Reloc|Graph|Zone/.test(sym)) return 'compiling';
  if (/Mark/.test(sym)) return 'marking';
  if (/Scaveng|Evacuat/.test(sym)) return 'scavenging';
  if (/Sweep|FreeList/.test(sym)) return 'sweeping';
  return null;
}

const CODE_KINDS = ['kernel', 'node', 'JIT code', 'SQLite', 'libc', 'other'] as const;

/**
 * Prints the recording's split: for each process named in `roles` (pid → name) and thread kind,
 * its share of all samples and where in it; then the rest of the machine and idle. V8 workers'
 * share is also split by what they did.
 */
export async function printPerfSplit(
  recording: PerfRecording,
  roles: ReadonlyMap<number, string>,
): Promise<void> {
  const { stdout } = await run(
    'perf',
    ['script', '-i', recording.file, '-F', 'comm,pid,tid,ip,sym,dso'],
    { maxBuffer: 1024 * 1024 * 1024 },
  );
  const rows = new Map<string, Map<string, number>>();
  const v8Work = new Map<string, number>();
  let total = 0;
  for (const line of stdout.split('\n')) {
    const m = SAMPLE.exec(line);
    if (!m) continue;
    const [, comm = '', pid = '', , sym = '', dso = ''] = m;
    total++;
    const role = roles.get(Number(pid));
    const key =
      role !== undefined
        ? `${role}: ${threadKind(comm)}`
        : Number(pid) === 0
          ? 'idle'
          : `others: ${comm.replace(/[-/:].*$/, '')}`;
    const byCode = rows.get(key) ?? new Map<string, number>();
    rows.set(key, byCode);
    const code = codeKind(dso);
    byCode.set(code, (byCode.get(code) ?? 0) + 1);
    if (role !== undefined && comm === 'V8Worker') {
      const work = v8WorkKind(sym) ?? 'other';
      v8Work.set(work, (v8Work.get(work) ?? 0) + 1);
    }
  }
  if (total === 0) {
    console.log('  (BENCH_PERF: no samples)');
    return;
  }
  const pct = (n: number): string => `${((100 * n) / total).toFixed(1)} %`;
  const sum = (m: Map<string, number>): number => [...m.values()].reduce((a, b) => a + b, 0);
  const ordered = [...rows].sort((a, b) => sum(b[1]) - sum(a[1]));
  const shown = ordered.filter(([key, m]) => !key.startsWith('others') || sum(m) / total >= 0.005);
  const rest = ordered.filter((row) => !shown.includes(row));
  const table = shown.map(([key, m]) => [
    key,
    pct(sum(m)),
    ...CODE_KINDS.map((k) => (m.has(k) ? pct(m.get(k) ?? 0) : '')),
  ]);
  if (rest.length > 0) {
    table.push(['others (each < 0.5 %)', pct(rest.reduce((n, [, m]) => n + sum(m), 0))]);
  }
  console.log(
    `  CPU of the whole machine during the sync (perf, ${total} samples at ${FREQUENCY} Hz on each core):`,
  );
  console.log(
    formatTable(['what ran', 'share', ...CODE_KINDS], table)
      .split('\n')
      .map((l) => `    ${l}`)
      .join('\n'),
  );
  if (v8Work.size > 0) {
    console.log(
      `  the nodes' V8 workers: ${[...v8Work]
        .sort((a, b) => b[1] - a[1])
        .map(([k, n]) => `${k} ${pct(n)}`)
        .join(', ')} (of all samples)`,
    );
  }
}
