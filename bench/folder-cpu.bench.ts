/**
 * Folder engine CPU per file (issue 16), in one process each, no HTTP: the sender's scan and
 * commit of a folder of new small files, and the receiver's taking in of their operations and
 * pull of their contents (bench/lib/folder-cpu-worker.ts). On a shared 2-core machine
 * `bench:folder`'s two nodes take turns on the cores, and a change of 5 % in one node's CPU is
 * under its noise; this measures each side's CPU alone, with builds compared run by run.
 *
 *   npm run bench:folder-cpu
 *   BENCH_FOLDER_CPU_BUILDS=/path/to/old,/path/to/new npm run bench:folder-cpu
 *
 * BENCH_FOLDER_CPU_BUILDS: checkouts with `dist/src` built (default: this one), alternated;
 * BENCH_FOLDER_CPU_ROUNDS (default 5) fresh processes of each, each running the sender and the
 * receiver twice (the first as a node's first sync, the second warmed up);
 * BENCH_FOLDER_CPU_FILES (default 10 000, in 100 directories) files of
 * BENCH_FOLDER_CPU_BYTES (default 4 096) random bytes. The folders are made in $TMPDIR (a journaled
 * file system, as the other folder benches: docs/benchmarks.md). Prints medians in µs per file.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { median } from './lib/stats.js';

const HERE = fileURLToPath(new URL('.', import.meta.url));
/** This checkout: dist/bench/ is two levels below it. */
const THIS_BUILD = resolve(HERE, '../..');
const BUILDS = (process.env['BENCH_FOLDER_CPU_BUILDS'] ?? THIS_BUILD).split(',').filter(Boolean);
const ROUNDS = Number(process.env['BENCH_FOLDER_CPU_ROUNDS'] ?? 5);
const FILES = Number(process.env['BENCH_FOLDER_CPU_FILES'] ?? 10_000);
const BYTES = Number(process.env['BENCH_FOLDER_CPU_BYTES'] ?? 4096);
const DIRS = 100;

interface Run {
  readonly senderMs: number;
  readonly takeMs: number;
  readonly pullMs: number;
}

function runWorker(build: string, tree: string): Promise<Run[]> {
  return new Promise((done, fail) => {
    const child = spawn(
      process.execPath,
      [join(HERE, 'lib/folder-cpu-worker.js'), build, tree, '2'],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.on('error', fail);
    child.on('exit', (code) => {
      if (code !== 0) fail(new Error(`worker for ${build} exited with ${code}`));
      else done((JSON.parse(out) as { runs: Run[] }).runs);
    });
  });
}

async function writeTree(): Promise<string> {
  const tree = await mkdtemp(join(tmpdir(), 'mosaic-folder-cpu-tree-'));
  for (let d = 0; d < DIRS; d++) {
    await mkdir(join(tree, `d${d}`));
    for (let i = d; i < FILES; i += DIRS) {
      await writeFile(join(tree, `d${d}`, `f${i}.bin`), randomBytes(BYTES));
    }
  }
  return tree;
}

const perFile = (ms: number): number => (ms * 1000) / FILES;
const fmt = (us: number): string => us.toFixed(1).padStart(7);

const tree = await writeTree();
try {
  console.log(
    `folder engine CPU, ${FILES} files of ${BYTES} bytes in ${DIRS} directories, ${ROUNDS} rounds, load ${loadavg()[0]?.toFixed(1)}`,
  );
  const results = new Map<string, Run[][]>(BUILDS.map((b) => [b, []]));
  for (let round = 0; round < ROUNDS; round++) {
    for (const build of BUILDS) {
      const runs = await runWorker(build, tree);
      results.get(build)?.push(runs);
      const line = runs
        .map(
          (r) =>
            `sender ${fmt(perFile(r.senderMs))}  take ${fmt(perFile(r.takeMs))}  pull ${fmt(perFile(r.pullMs))}`,
        )
        .join('  |  ');
      console.log(`  round ${round + 1} ${build}: ${line}  (µs per file: first run | second)`);
    }
  }
  console.log('\nmedians, µs of CPU per file (first run, as a fresh node / second run):');
  console.log('build'.padEnd(40), 'sender (scan+commit)', '  receiver take', '  receiver pull');
  const medians = new Map<string, number[]>();
  for (const [build, rounds] of results) {
    const at = (i: number, key: keyof Run) =>
      median(rounds.map((r) => perFile(r[i]?.[key] ?? NaN)));
    const row = [
      at(0, 'senderMs'),
      at(1, 'senderMs'),
      at(0, 'takeMs'),
      at(1, 'takeMs'),
      at(0, 'pullMs'),
      at(1, 'pullMs'),
    ];
    medians.set(build, row);
    console.log(
      build.slice(-40).padEnd(40),
      `${fmt(row[0] ?? NaN)} / ${fmt(row[1] ?? NaN)}`,
      `${fmt(row[2] ?? NaN)} / ${fmt(row[3] ?? NaN)}`,
      `${fmt(row[4] ?? NaN)} / ${fmt(row[5] ?? NaN)}`,
    );
  }
  const [first, ...others] = BUILDS;
  const base = first === undefined ? undefined : medians.get(first);
  for (const build of others) {
    const row = medians.get(build);
    if (base === undefined || row === undefined) continue;
    const ratio = row.map((v, i) => (v / (base[i] ?? NaN)).toFixed(2));
    console.log(`${build.slice(-40)} / ${first?.slice(-40)}: ${ratio.join('  ')}`);
  }
  console.log(
    JSON.stringify({
      bench: 'folder-cpu',
      files: FILES,
      bytes: BYTES,
      medians: Object.fromEntries(medians),
    }),
  );
} finally {
  await rm(tree, { recursive: true, force: true });
}
