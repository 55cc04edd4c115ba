/** Starting real node processes for the benches (the tests have their own harness). */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { nodeRuntimeEnv } from '../../src/cli/cluster.processes.js';
import { NODE_FLAGS } from '../../src/cli/runtime-env.js';
import { freePort } from '../../test/helpers/free-port.js';

/** The node to run; MOSAIC_BENCH_BIN points at another build (e.g. a copy of an older tree). */
export const MOSAIC_BIN =
  process.env['MOSAIC_BENCH_BIN'] ??
  fileURLToPath(new URL('../../../bin/mosaic.js', import.meta.url));
export const BENCH_PASSWORD = 'bench-password-123';
/** Node flags for the nodes under test, e.g. BENCH_NODE_ARGS=--optimize-for-size (not all are allowed in NODE_OPTIONS). */
const NODE_ARGS = (process.env['BENCH_NODE_ARGS'] ?? '').split(' ').filter(Boolean);
/** BENCH_NODE_ARGS=--trace-gc and the like print to stdout: its lines that are not the JSON log are echoed. */
const ECHO_OTHER_LINES = NODE_ARGS.length > 0;

export { freePort };

export interface BenchNode {
  readonly url: string;
  readonly proc: ChildProcess;
  cookie: string;
  stop(): Promise<void>;
  kill(): Promise<void>;
}

/**
 * The arguments of node `i` (0-based) of a full mesh on 127.0.0.1: data under `dir/node<i+1>`
 * (or `dir/<prefix><i+1>`), named `n<i+1>`, every other port as a peer.
 */
export function meshArgs(
  dir: string,
  ports: readonly number[],
  key: string,
  i: number,
  prefix = 'node',
): string[] {
  return [
    ...[
      '--data',
      join(dir, `${prefix}${i + 1}`),
      '--port',
      String(ports[i]),
      '--name',
      `n${i + 1}`,
    ],
    ...['--cluster-key', key],
    ...ports.filter((_, j) => j !== i).flatMap((p) => ['--peer', `http://127.0.0.1:${p}`]),
  ];
}

/**
 * The environment of a bench node: the memory settings every `mosaic node` gets (MALLOC_ARENA_MAX,
 * V8 semi-space: src/cli/runtime-env.ts), unless BENCH_NODE_TUNING=off (to measure without them:
 * MOSAIC_MEMORY_TUNING=off then stops bin/mosaic.js from adding them itself).
 */
function benchEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    MOSAIC_ADMIN_PASSWORD: BENCH_PASSWORD,
    MOSAIC_DISCOVERY: 'off',
  };
  const tuned =
    process.env['BENCH_NODE_TUNING'] === 'off' || extra['MOSAIC_MEMORY_TUNING'] === 'off'
      ? { ...env, MOSAIC_MEMORY_TUNING: 'off' }
      : nodeRuntimeEnv(env);
  const nodeOptions = [tuned['NODE_OPTIONS'], extra['NODE_OPTIONS']].filter(Boolean).join(' ');
  return { ...tuned, ...extra, ...(nodeOptions ? { NODE_OPTIONS: nodeOptions } : {}) };
}

/** Spawns `mosaic node` with `args` and resolves once it listens and admin is signed in. */
export async function startBenchNode(
  args: readonly string[],
  env: Record<string, string> = {},
  /** Hears every line the node prints (its JSON log). */
  onLine?: (line: string) => void,
  /** Another build's bin/mosaic.js (default MOSAIC_BIN). */
  bin: string = MOSAIC_BIN,
  /**
   * A session of this node's data from before a restart: used as is, no sign-in (whose scrypt
   * would otherwise run beside what a restart bench measures).
   */
  cookie?: string,
): Promise<BenchNode> {
  // The memory flags on the command line, as `mosaic cluster` gives them: bin/mosaic.js would
  // otherwise re-execute the node to add them (~20 ms of start-up CPU).
  const tuned = process.env['BENCH_NODE_TUNING'] !== 'off' && env['MOSAIC_MEMORY_TUNING'] !== 'off';
  const proc = spawn(
    process.execPath,
    [...(tuned ? NODE_FLAGS : []), ...NODE_ARGS, bin, 'node', '--log-level', 'info', ...args],
    {
      env: benchEnv(env),
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new Error('node did not start'));
    }, 30_000);
    proc.once('exit', (code) => {
      reject(new Error(`node exited with ${code}`));
    });
    createInterface({ input: proc.stdout }).on('line', (line) => {
      onLine?.(line);
      // Errors of the node under test are worth seeing next to the figures.
      if (
        line.includes('"level":50') ||
        line.includes('"level":60') ||
        (ECHO_OTHER_LINES && !line.startsWith('{'))
      )
        process.stderr.write(`${line}\n`);
      if (!line.includes('"node listening"')) return;
      clearTimeout(timer);
      resolve((JSON.parse(line) as { url: string }).url);
    });
  });
  const exited = new Promise<void>((resolve) => {
    proc.once('exit', () => {
      resolve();
    });
  });
  const node: BenchNode = {
    url,
    proc,
    cookie: cookie ?? (await login(url)),
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
      await exited;
    },
    async kill() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
      await exited;
    },
  };
  return node;
}

export async function login(url: string): Promise<string> {
  const res = await fetch(`${url}/api/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'admin', password: BENCH_PASSWORD }),
  });
  if (res.status !== 200) throw new Error(`login: ${res.status}`);
  return (res.headers.getSetCookie()[0] ?? '').split(';')[0] ?? '';
}

/** Peak resident set size of a process, from /proc (Linux). */
export async function peakRssMb(pid: number | undefined): Promise<number> {
  if (pid === undefined) return Number.NaN;
  const { readFile } = await import('node:fs/promises');
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  const kb = /VmHWM:\s+(\d+)/.exec(status)?.[1];
  return kb ? Number(kb) / 1024 : Number.NaN;
}

/** Current RSS (VmRSS) of a process in MB. */
export async function rssMb(pid: number | undefined): Promise<number> {
  if (pid === undefined) return Number.NaN;
  const { readFile } = await import('node:fs/promises');
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  const kb = /VmRSS:\s+(\d+)/.exec(status)?.[1];
  return kb ? Number(kb) / 1024 : Number.NaN;
}
