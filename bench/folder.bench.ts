/**
 * Folder sync bench (issue 4): 2 real nodes on 127.0.0.1, each mirroring its own directory of
 * one folder. The small set is written into side 1's folder and flushed (`sync`) before anything
 * starts, as in issue 16's table; the clock runs from the start of the two nodes until both
 * sides report the files indexed and nothing needed, and the disks agree on every path and size
 * (the node start-up is part of it, and printed apart); then (clock stopped) every file's hash is
 * compared. The large file is then written into side 1 while both run, the clock from its first
 * write. Prints times, files/s, MB/s and the peak RSS of both processes; asserts nothing.
 * BENCH_LIVE=1: the small set is written while both run too, the clock from the first write (the
 * bench's form before 2026-11-30 evening; the writes then compete with the nodes for the disk).
 *
 * When `syncthing` is on the PATH (Debian: `apt-get install syncthing`), the same is done with
 * two Syncthing instances on loopback (bench/lib/syncthing.ts), and the ratio is printed.
 * When `rsync` is on the PATH (Debian: `apt-get install rsync`), the floor is measured too, on
 * the same terms: the small set written and flushed first, then the clock over `rsync -a` to the
 * other root and `sync` (BENCH_LIVE=1 and the large file: from the first write); the ratio
 * Mosaic / floor is printed beside the Syncthing one.
 *
 * BENCH_ONLY=mosaic|syncthing|rsync runs only that one; BENCH_BIG_MB (default 1024) sizes the
 * large file (0 leaves it out), BENCH_SMALL_FILES the small set (a multiple of 100), for a quick check.
 * BENCH_SMALL_SET=mixed replaces the 4 KiB files with issue 16's own set: 8 000 files of 1-64 KiB
 * in 240 directories, about 271 MB (the same sizes every run); BENCH_SMALL_SET=photos, a folder of
 * 200 photos of 1.5-6 MiB in 10 directories (about 790 MB: each goes by the large-file route).
 * BENCH_RESTART_FILES=N (a multiple of 100) measures only a Mosaic restart over N unchanged tiny
 * files (issue 16: rescan < 5 s, nothing read again, nothing sent): the set is written into side
 * 1 and copied with `cp -a` to side 2, both nodes index it, then both are restarted.
 *
 * BENCH_PERF=1: the whole machine's CPU during each small set's sync (from both started to
 * identical), by process and thread, from a system-wide `perf record` (bench/lib/perf-split.ts).
 *
 * BENCH_OTHERS_DIRTY_MB=N: just before the clock starts (after the `sync`), another program's N MB
 * are written beside the trees and left unflushed, as a download or a backup leaves them: the
 * dirty data a file-system-wide flush (syncfs) would have to write too.
 *
 * Every contender's trees stay until the end (bench/lib/remove-later.ts): on ext4 without a journal,
 * the files one contender left, removed before the next starts, slow the next one's creates for
 * up to 5 minutes. For the same reason, start it 5 minutes after anything removed many files.
 *
 *   npm run bench:folder            (about 3-6 minutes, ~2.2 GB of temp space per contender)
 *   BENCH_ONLY=mosaic BENCH_SMALL_FILES=100000 npm run bench:folder    (scale check)
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, open, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { processCpuMs as cpuMs, threadCpuSeconds } from './lib/cpu.js';
import { startMosaic } from './lib/folder-mosaic.js';
import { measureRsync, rsyncVersion } from './lib/folder-rsync.js';
import { removeAll, removeLater } from './lib/remove-later.js';
import {
  verify,
  waitIdentical,
  writeBigFile,
  writeSmallSet,
  mixedSet,
  photoSet,
  uniformSet,
  type Contender,
  type FolderSets,
} from './lib/folder-sync.js';
import { peakRssMb } from './lib/nodes.js';
import { printPerfSplit, recordPerf, type PerfRecording } from './lib/perf-split.js';
import { MB, formatTable, round } from './lib/stats.js';
import { startSyncthingPair, syncthingVersion } from './lib/syncthing.js';

/** BENCH_SMALL_FILES=100000 checks scale (a multiple of 100). */
const SMALL_FILE_COUNT = Number(process.env['BENCH_SMALL_FILES'] ?? 10_000);
/** BENCH_SMALL_SET=mixed: issue 16's 8 000 files of 1-64 KiB instead of the 4 KiB files. */
const SET_NAME = process.env['BENCH_SMALL_SET'];
const SMALL =
  SET_NAME === 'mixed'
    ? mixedSet()
    : SET_NAME === 'photos'
      ? photoSet()
      : uniformSet(SMALL_FILE_COUNT, 4096);
const SMALL_FILES = SMALL.files;
const BIG_SIZE = Number(process.env['BENCH_BIG_MB'] ?? 1024) * 1024 * 1024;
/** The files of both sets; BENCH_BIG_MB=0 leaves the large file (and its row) out. */
const ALL_FILES = SMALL_FILES + (BIG_SIZE > 0 ? 1 : 0);
const run = promisify(execFile);
/** BENCH_LIVE=1: the small set is written while the nodes run, timed from the first write. */
const LIVE = process.env['BENCH_LIVE'] === '1';
/**
 * BENCH_SIGN_IN_ON_CLOCK=1: Mosaic's nodes are signed in to as they start, on the clock (the
 * bench's way before 2026-12-01 evening; otherwise their status comes from their log lines
 * until the small set is done: bench/lib/folder-mosaic.ts).
 */
const SIGN_IN_ON_CLOCK = process.env['BENCH_SIGN_IN_ON_CLOCK'] === '1';
/** BENCH_OTHERS_DIRTY_MB=N: another program's unflushed data at the start (see the header). */
const OTHERS_DIRTY_MB = Number(process.env['BENCH_OTHERS_DIRTY_MB'] ?? 0);
/** BENCH_PERF=1: where the machine's CPU went during the small set's sync (see the header). */
const PERF = process.env['BENCH_PERF'] === '1';
/** BENCH_RESTART=1: after the sets, Mosaic's nodes are restarted on the same data (timed). */
const RESTART = process.env['BENCH_RESTART'] === '1';
/** BENCH_RESTART_FILES=N: only the restart over N unchanged tiny files (see the header). */
const RESTART_FILES = Number(process.env['BENCH_RESTART_FILES'] ?? 0);
const SETS: FolderSets = {
  small: SMALL,
  bigSize: BIG_SIZE,
  live: LIVE,
};

async function measureRestartOnly(files: number): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'mosaic-bench-restart-'));
  const roots = [join(dir, 'f1', 'folder'), join(dir, 'f2', 'folder')] as const;
  await mkdir(roots[0], { recursive: true });
  try {
    console.log(`Mosaic restart: writing ${files} files of 64 bytes, copied with cp -a ...`);
    for (let d = 0; d < files / 100; d++) {
      const sub = join(roots[0], 'many', `d${d}`);
      await mkdir(sub, { recursive: true });
      await Promise.all(
        Array.from({ length: 100 }, (_, i) =>
          writeFile(join(sub, `f${i}.txt`), randomBytes(32).toString('hex')),
        ),
      );
    }
    await mkdir(join(dir, 'f2'), { recursive: true });
    await run('cp', ['-a', roots[0], join(dir, 'f2')]);
    const contender = await startMosaic(dir, roots);
    try {
      const t0 = performance.now();
      const first = await waitIdentical(contender, roots, files, t0);
      console.log(
        `  both indexed and agreeing after ${round((performance.now() - t0) / 1000, 2)} s (side 1 indexed at ${round(first.indexedS, 2)} s); RSS ${(await Promise.all(contender.pids.map((pid) => peakRssMb(pid)))).map((m) => round(m)).join(' / ')} MB peak`,
      );
      const r = await contender.restart?.(files);
      if (!r) return;
      console.log(
        `  restarted: agreeing again after ${round(r.seconds, 2)} s; start-up scans ${r.scanMs.join(' / ')} ms, ${r.hashed} files read again, ${r.changed} changes; node 2 fetched ${r.fetchedBytes} bytes; idle RSS ${r.idleRssMb.map((m) => round(m)).join(' / ')} MB; peak RSS since start ${(await Promise.all(contender.pids.map((pid) => peakRssMb(pid)))).map((m) => round(m)).join(' / ')} MB`,
      );
      console.log(JSON.stringify({ bench: 'folder-restart', files, ...r }));
    } finally {
      await contender.stop();
    }
  } finally {
    removeLater(dir);
  }
}

interface Measured {
  smallS: number;
  /** From the clock's start until both nodes answered (pre-written set only; else 0). */
  startS: number;
  /** CPU ms per file each process used for the small set (from the first write to identical). */
  smallCpuMsPerFile: number[];
  smallIndexedS: number;
  bigS: number;
  bigIndexedS: number;
  rssMb: number[];
}

/** `mb` MiB of random bytes written to `path` and left to the kernel (no flush). */
async function writeUnflushed(path: string, mb: number): Promise<void> {
  const chunk = randomBytes(1024 * 1024);
  const file = await open(path, 'w');
  try {
    for (let i = 0; i < mb; i++) await file.write(chunk);
  } finally {
    await file.close();
  }
  console.log(`  ${mb} MiB of another program's data written beside the trees, not flushed`);
}

async function measure(
  name: string,
  start: (dir: string, roots: readonly [string, string]) => Promise<Contender>,
): Promise<Measured> {
  const dir = await mkdtemp(join(tmpdir(), 'mosaic-bench-folder-'));
  const roots = [join(dir, 'f1', 'folder'), join(dir, 'f2', 'folder')] as const;
  await Promise.all(roots.map((r) => mkdir(r, { recursive: true })));
  if (!LIVE) {
    // Issue 16's terms: the folder is already written into one side (and on disk) before the
    // two sides start; the clock covers their start-up and the sync, like the floor's copy.
    console.log(`${name}: ${SMALL.label} written into side 1 and flushed before the start ...`);
    await writeSmallSet(roots[0], SMALL);
    await run('sync');
    if (OTHERS_DIRTY_MB > 0) await writeUnflushed(join(dir, 'others.bin'), OTHERS_DIRTY_MB);
  }
  const t0 = performance.now();
  const contender = await start(dir, roots);
  const startS = LIVE ? 0 : (performance.now() - t0) / 1000;
  let perf: PerfRecording | null = null;
  try {
    const cpu0 = await Promise.all(contender.pids.map(cpuMs));
    const mainCpu0 = await mainThreadsCpuMs(contender.pids);
    if (LIVE) {
      console.log(`${name}: writing ${SMALL.label} into side 1 ...`);
      await writeSmallSet(roots[0], SMALL);
      console.log(
        `  written in ${round((performance.now() - t0) / 1000, 2)} s (clock started at epoch ${round((performance.timeOrigin + t0) / 1000, 3)} s)`,
      );
    } else {
      console.log(
        `  both started in ${round(startS, 2)} s (clock started at epoch ${round((performance.timeOrigin + t0) / 1000, 3)} s)`,
      );
    }
    perf = PERF ? await recordPerf(join(dir, 'perf.data')) : null;
    const recording = perf;
    // Stopped as the contender says it is done, before the bench lists both trees.
    const small = await waitIdentical(contender, roots, SMALL_FILES, t0, () =>
      recording === null ? Promise.resolve() : recording.stop(),
    );
    const smallS = small.doneS;
    const cpu1 = await Promise.all(contender.pids.map(cpuMs));
    const mainCpu1 = await mainThreadsCpuMs(contender.pids);
    if (recording !== null) {
      const roles = new Map(
        contender.pids.flatMap((pid, i) => (pid === undefined ? [] : [[pid, `${name} ${i + 1}`]])),
      );
      await printPerfSplit(recording, roles);
    }
    const smallCpuMsPerFile = cpu1.map((c, i) => (c - (cpu0[i] ?? NaN)) / SMALL_FILES);
    // The JavaScript thread's share: the receiver's is the sync's critical path (benchmarks.md).
    const mainMsPerFile = mainCpu1.map((c, i) => (c - (mainCpu0[i] ?? NaN)) / SMALL_FILES);
    await verify(roots);
    await contender.signIn?.(); // off the clock: the large file's status comes from the API
    const smallRss = await Promise.all(contender.pids.map((pid) => peakRssMb(pid)));
    console.log(
      `  identical after ${round(smallS, 2)} s (side 1 indexed at ${round(small.indexedS, 2)} s); CPU ${smallCpuMsPerFile.map((c) => round(c, 2)).join(' / ')} ms per file (after start-up), main thread ${mainMsPerFile.map((c) => round(c, 3)).join(' / ')}; peak RSS so far ${smallRss.map((r) => round(r)).join(' / ')} MB`,
    );

    let bigS = NaN;
    let bigIndexedS = NaN;
    if (BIG_SIZE > 0) {
      console.log(`${name}: writing one ${BIG_SIZE / 1024 / 1024} MiB file into side 1 ...`);
      const t1 = performance.now();
      await writeBigFile(join(roots[0], 'big.bin'), BIG_SIZE);
      const big = await waitIdentical(contender, roots, ALL_FILES, t1);
      bigS = big.doneS;
      bigIndexedS = big.indexedS;
      await verify(roots);
      console.log(
        `  identical after ${round(bigS, 2)} s (side 1 indexed at ${round(big.indexedS, 2)} s)`,
      );
    }
    const peakRss = await Promise.all(contender.pids.map((pid) => peakRssMb(pid)));
    if (RESTART && contender.restart) {
      console.log(`${name}: both nodes stopped and started again, nothing changed ...`);
      const r = await contender.restart(ALL_FILES);
      console.log(
        `  agreeing again after ${round(r.seconds, 2)} s; start-up scans ${r.scanMs.join(' / ')} ms, ${r.hashed} files read again, ${r.changed} changes; node 2 fetched ${r.fetchedBytes} bytes; idle RSS ${r.idleRssMb.map((m) => round(m)).join(' / ')} MB`,
      );
    }
    return {
      smallS,
      startS,
      smallCpuMsPerFile,
      smallIndexedS: small.indexedS,
      bigS,
      bigIndexedS,
      rssMb: peakRss,
    };
  } finally {
    // A run that failed before its done answer: perf records until stopped.
    await perf?.stop();
    await contender.stop();
    removeLater(dir);
  }
}

async function main(): Promise<void> {
  // BENCH_ONLY=syncthing skips Mosaic's run (checking the Syncthing harness); =mosaic the other.
  const only = process.env['BENCH_ONLY'];
  if (RESTART_FILES > 0) {
    if (!Number.isInteger(RESTART_FILES / 100)) {
      throw new Error('BENCH_RESTART_FILES must be a positive multiple of 100');
    }
    await measureRestartOnly(RESTART_FILES);
    return;
  }
  if (SET_NAME !== undefined && SET_NAME !== 'mixed' && SET_NAME !== 'photos') {
    throw new Error('BENCH_SMALL_SET is mixed or photos');
  }
  if (SET_NAME === undefined && (!Number.isInteger(SMALL_FILES / 100) || SMALL_FILES <= 0)) {
    throw new Error('BENCH_SMALL_FILES must be a positive multiple of 100');
  }
  const mosaic =
    only === 'syncthing' || only === 'rsync'
      ? {
          smallS: NaN,
          startS: NaN,
          smallCpuMsPerFile: [],
          smallIndexedS: NaN,
          bigS: NaN,
          bigIndexedS: NaN,
          rssMb: [],
        }
      : await measure('Mosaic', (dir, roots) =>
          startMosaic(dir, roots, { signIn: LIVE || SIGN_IN_ON_CLOCK }),
        );
  const version = only === undefined || only === 'syncthing' ? syncthingVersion() : null;
  const rsync = only === undefined || only === 'rsync' ? rsyncVersion() : null;
  const floor = rsync === null ? null : await measureRsync(SETS);
  if (rsync === null && (only === undefined || only === 'rsync'))
    console.log('\nrsync is not installed: no floor.');
  const syncthing =
    version === null
      ? null
      : await measure('Syncthing', (dir, roots) => startSyncthingPair(dir, roots));
  if (version === null && (only === undefined || only === 'syncthing'))
    console.log('\nsyncthing is not installed: no side-by-side run.');

  const rows: string[][] = [];
  const ratio = (a: number, b: number | undefined) =>
    b === undefined ? '' : `${round(b / a, 2)}x`;
  const floorCell = (total: number | undefined, copy: number | undefined) =>
    total === undefined ? '-' : `${round(total, 2)} s (rsync+sync ${round(copy ?? NaN, 2)} s)`;
  rows.push([
    `${SMALL.label}${LIVE ? ' (live)' : ''}`,
    LIVE
      ? `${round(mosaic.smallS, 2)} s`
      : `${round(mosaic.smallS, 2)} s (start-up ${round(mosaic.startS, 2)} s)`,
    `${round(SMALL_FILES / mosaic.smallS)} files/s`,
    syncthing ? `${round(syncthing.smallS, 2)} s` : '-',
    ratio(mosaic.smallS, syncthing?.smallS),
    floorCell(floor?.smallS, floor?.smallCopyS),
    floor ? ratio(floor.smallS, mosaic.smallS) : '',
    SET_NAME === 'mixed'
      ? '< 2 s, >= 5x Syncthing'
      : SET_NAME === 'photos'
        ? '>= 1.5x Syncthing'
        : '<= 3 s, >= 5x Syncthing',
  ]);
  if (BIG_SIZE > 0)
    rows.push([
      `${BIG_SIZE / 1024 / 1024} MiB file`,
      `${round(mosaic.bigS, 2)} s`,
      `${round(BIG_SIZE / MB / mosaic.bigS)} MB/s`,
      syncthing ? `${round(syncthing.bigS, 2)} s` : '-',
      ratio(mosaic.bigS, syncthing?.bigS),
      floorCell(floor?.bigS, floor?.bigCopyS),
      floor ? ratio(floor.bigS, mosaic.bigS) : '',
      '>= 1.5x Syncthing',
    ]);
  rows.push([
    'peak RSS',
    mosaic.rssMb.map((r) => `${round(r)} MB`).join(' / '),
    '',
    syncthing ? syncthing.rssMb.map((r) => `${round(r)} MB`).join(' / ') : '-',
    '',
    '',
    '',
    '< 200 MB per node',
  ]);
  const syncthingHeader = version === null ? 'Syncthing' : version.split(' ').slice(0, 2).join(' ');
  console.log(
    `\n${formatTable(['data set', 'Mosaic', 'rate', syncthingHeader, 'Syncthing / Mosaic', `floor (rsync ${rsync ?? '-'})`, 'Mosaic / floor', 'target'], rows)}\n`,
  );
  console.log(
    JSON.stringify({
      bench: 'folder',
      live: LIVE,
      smallSet: SMALL.label,
      mosaic: {
        smallSeconds: round(mosaic.smallS, 2),
        startSeconds: round(mosaic.startS, 2),
        smallIndexedSeconds: round(mosaic.smallIndexedS, 2),
        smallCpuMsPerFile: mosaic.smallCpuMsPerFile.map((c) => round(c, 3)),
        bigSeconds: round(mosaic.bigS, 2),
        bigIndexedSeconds: round(mosaic.bigIndexedS, 2),
        peakRssMb: mosaic.rssMb.map((r) => round(r)),
      },
      syncthing:
        syncthing === null
          ? null
          : {
              version,
              smallSeconds: round(syncthing.smallS, 2),
              startSeconds: round(syncthing.startS, 2),
              bigSeconds: round(syncthing.bigS, 2),
              peakRssMb: syncthing.rssMb.map((r) => round(r)),
            },
      rsync:
        floor === null
          ? null
          : {
              version: rsync,
              smallSeconds: round(floor.smallS, 2),
              smallCopySeconds: round(floor.smallCopyS, 2),
              bigSeconds: round(floor.bigS, 2),
              bigCopySeconds: round(floor.bigCopyS, 2),
            },
    }),
  );
}

try {
  await main();
} finally {
  await removeAll();
}

/** CPU ms used so far by each process's main thread (a Node process's JavaScript thread). */
async function mainThreadsCpuMs(pids: readonly (number | undefined)[]): Promise<number[]> {
  return Promise.all(
    pids.map(async (pid) => (pid === undefined ? NaN : (await threadCpuSeconds(pid)).main * 1000)),
  );
}
