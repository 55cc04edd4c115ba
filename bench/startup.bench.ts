/**
 * Start-up bench (issue 16): what a node costs from spawn to listening, and on a restart with a
 * folder of small files already indexed, to the end of its first full scan.
 *
 *   npm run bench:startup
 *
 * Each run spawns `bin/mosaic.js node` as the other benches do (memory settings given, so no
 * re-execution) and reads its CPU (utime + stime from /proc) and the wall time since spawn when
 * it prints "node listening" and "folder scanned". The builds named in
 * BENCH_STARTUP_BINS=a/bin/mosaic.js,b/bin/mosaic.js (default: this one) run alternately, run by
 * run, so that a change of load hits them alike. BENCH_STARTUP_RUNS=N (default 9) runs of each;
 * BENCH_STARTUP_FILES=N (default 10 000) files of 4 KiB in the folder. Prints medians.
 */
import { randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { nodeRuntimeEnv } from '../src/cli/cluster.processes.js';
import { NODE_FLAGS } from '../src/cli/runtime-env.js';
import { processCpuMs as cpuMs } from './lib/cpu.js';
import { BENCH_PASSWORD, MOSAIC_BIN } from './lib/nodes.js';
import { median } from './lib/stats.js';

const RUNS = Number(process.env['BENCH_STARTUP_RUNS'] ?? 9);
const FILES = Number(process.env['BENCH_STARTUP_FILES'] ?? 10_000);
const BINS = (process.env['BENCH_STARTUP_BINS'] ?? MOSAIC_BIN).split(',').filter(Boolean);

interface Mark {
  readonly cpuMs: number;
  readonly wallMs: number;
}

/** One node from spawn until every line in `marks` was printed; then stopped. */
async function once(bin: string, args: string[], marks: string[]): Promise<Map<string, Mark>> {
  const t0 = performance.now();
  const child = spawn(process.execPath, [...NODE_FLAGS, bin, 'node', ...args], {
    env: { ...nodeRuntimeEnv(process.env), MOSAIC_ADMIN_PASSWORD: BENCH_PASSWORD },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error('no pid');
  const seen = new Map<string, Mark>();
  await new Promise<void>((resolve, reject) => {
    child.once('exit', (code) => {
      reject(new Error(`node exited with ${code}`));
    });
    createInterface({ input: child.stdout }).on('line', (line) => {
      const mark = marks.find((m) => !seen.has(m) && line.includes(`"${m}"`));
      if (mark === undefined) return;
      const wallMs = performance.now() - t0;
      void cpuMs(pid).then((cpu) => {
        seen.set(mark, { cpuMs: cpu, wallMs });
        if (seen.size === marks.length) resolve();
      }, reject);
    });
  });
  // Stopped once its signal handlers are in place (they come right after start-up).
  const exited = new Promise((resolve) => child.once('exit', resolve));
  await new Promise((resolve) => setTimeout(resolve, 300));
  child.kill('SIGTERM');
  await exited;
  return seen;
}

function report(name: string, runs: Map<string, Mark>[], marks: string[]): void {
  for (const mark of marks) {
    const cpu = runs.map((r) => r.get(mark)?.cpuMs ?? Number.NaN);
    const wall = runs.map((r) => r.get(mark)?.wallMs ?? Number.NaN);
    console.log(
      `  ${name}: to "${mark}" CPU ${median(cpu)} ms (${[...cpu].sort((a, b) => a - b).join(' ')}), wall ${Math.round(median(wall))} ms`,
    );
  }
}

const dir = await mkdtemp(join(tmpdir(), 'mosaic-bench-startup-'));
try {
  const base = ['--port', '0', '--discovery', 'off', '--log-level', 'info'];
  const key = randomBytes(24).toString('hex');
  const folder = join(dir, 'folder');
  for (let d = 0; d * 100 < FILES; d++) {
    await mkdir(join(folder, `d${d}`), { recursive: true });
    for (let i = 0; i < 100 && d * 100 + i < FILES; i++) {
      await writeFile(join(folder, `d${d}`, `f${i}.bin`), randomBytes(4096));
    }
  }
  const restart = [...base, '--data', join(dir, 'indexed'), '--cluster-key', key];
  const withFolder = [...restart, '--folder', `bench=${folder}`];
  // Index the folder once (with the first build), so that every restart finds it indexed.
  await once(BINS[0] ?? MOSAIC_BIN, withFolder, ['folder scanned']);

  const fresh = BINS.map(() => [] as Map<string, Mark>[]);
  const restarts = BINS.map(() => [] as Map<string, Mark>[]);
  for (let run = 0; run < RUNS; run++) {
    for (const [i, bin] of BINS.entries()) {
      const data = ['--data', join(dir, `fresh-${i}-${run}`)];
      fresh[i]?.push(await once(bin, [...base, ...data], ['node listening']));
      restarts[i]?.push(await once(bin, withFolder, ['node listening', 'folder scanned']));
    }
  }
  console.log(
    `start-up, ${RUNS} runs each, load average ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}`,
  );
  for (const [i, bin] of BINS.entries()) {
    console.log(bin);
    report('fresh data directory', fresh[i] ?? [], ['node listening']);
    report(`restart, ${FILES} files indexed`, restarts[i] ?? [], [
      'node listening',
      'folder scanned',
    ]);
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}
