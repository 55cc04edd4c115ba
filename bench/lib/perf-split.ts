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
    // -g: each sample's call chain, for the syscall under a kernel sample.
    ['record', '-a', '-g', '-q', '-F', String(FREQUENCY), '-o', file],
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

/** A sample's first line, `comm pid/tid`, and each frame of its call chain, `ip [sym] (dso)`. */
const HEADER = /^(\S.*?)\s+(\d+)\/(\d+)\s*$/;
const FRAME = /^\s+[0-9a-f]+\s*(.*?)\s*\(([^()]*)\)\s*$/;
/** The kernel's entry point of a syscall: `__x64_sys_openat`, `ksys_write`, `do_writev`. */
const SYSCALL =
  /^(?:__(?:x64_|ia32_|do_|se_)sys_|ksys_|__sys_|do_(?=writev|readv|epoll_wait))(\w+)$/;

interface Sample {
  readonly comm: string;
  readonly pid: number;
  /** The leaf frame: where the CPU was. */
  readonly sym: string;
  readonly dso: string;
  /** The syscall (or 'page fault') the sample is under, if it is in the kernel on a process's behalf. */
  readonly syscall: string | null;
}

/**
 * What a kernel sample was doing for its process, from its call chain (leaf first): the syscall
 * named by the frame under `do_syscall_64` ('leaving a syscall' when that frame is the way back
 * out: another thread's turn, a signal, interrupts enabled again), or 'page fault'; null for an
 * interrupt.
 */
function syscallOf(frames: readonly { sym: string }[]): string | null {
  const entry = frames.findIndex((f) => f.sym === 'do_syscall_64');
  if (entry > 0) {
    const under = frames[entry - 1]?.sym ?? '';
    const named = SYSCALL.exec(under);
    if (named) return named[1] ?? under;
    if (under.startsWith('exit_to_user_mode') || under.includes('irq_enable')) {
      return 'leaving a syscall';
    }
    return under;
  }
  return frames.some((f) => f.sym.includes('exc_page_fault')) ? 'page fault' : null;
}

/** The samples of `perf script -F comm,pid,tid,ip,sym,dso` with call chains. */
function* samplesOf(text: string): Generator<Sample> {
  let head: { comm: string; pid: number } | null = null;
  let frames: { sym: string; dso: string }[] = [];
  const done = (): Sample | null => {
    const leaf = frames[0];
    if (head === null || leaf === undefined) return null;
    return { ...head, sym: leaf.sym, dso: leaf.dso, syscall: syscallOf(frames) };
  };
  for (const line of text.split('\n')) {
    const frame = FRAME.exec(line);
    if (frame) {
      frames.push({ sym: frame[1] ?? '', dso: frame[2] ?? '' });
      continue;
    }
    const header = HEADER.exec(line);
    if (header || line.trim() === '') {
      const sample = done();
      if (sample !== null) yield sample;
      head = header ? { comm: header[1] ?? '', pid: Number(header[2]) } : null;
      frames = [];
    }
  }
  const last = done();
  if (last !== null) yield last;
}

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
 * share is also split by what they did, and each node's main thread's kernel share by syscall.
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
  /** Per node's main thread: samples under each syscall. */
  const syscalls = new Map<string, Map<string, number>>();
  let total = 0;
  for (const { comm, pid, sym, dso, syscall } of samplesOf(stdout)) {
    total++;
    const role = roles.get(pid);
    const key =
      role !== undefined
        ? `${role}: ${threadKind(comm)}`
        : pid === 0
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
    if (role !== undefined && comm === 'MainThread' && code === 'kernel') {
      const calls = syscalls.get(role) ?? new Map<string, number>();
      syscalls.set(role, calls);
      const name = syscall ?? 'interrupts';
      calls.set(name, (calls.get(name) ?? 0) + 1);
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
  for (const [role, calls] of [...syscalls].sort((a, b) => a[0].localeCompare(b[0]))) {
    const top = [...calls].sort((a, b) => b[1] - a[1]).slice(0, 10);
    console.log(
      `  ${role}'s main thread in the kernel: ${top.map(([k, n]) => `${k} ${pct(n)}`).join(', ')}`,
    );
  }
}
