/**
 * The folder bench's common ground (bench/folder.bench.ts): a `Contender` (two systems syncing
 * one folder between two roots: Mosaic's nodes or Syncthing's), the data sets (and their sizes)
 * written into side 1, the wait until both sides agree, and the check of every file's hash.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, readdir, stat, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { round } from './stats.js';

async function listing(root: string): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const e of await readdir(root, { recursive: true, withFileTypes: true })) {
    const abs = join(e.parentPath, e.name);
    const rel = relative(root, abs);
    if (rel.startsWith('.mosaic') || !e.isFile()) continue;
    out.set(rel, (await stat(abs).catch(() => null))?.size ?? -1);
  }
  return out;
}

async function sha(file: string): Promise<string> {
  const h = createHash('sha256');
  await pipeline(createReadStream(file), async (chunks: AsyncIterable<Buffer>) => {
    for await (const c of chunks) h.update(c);
  });
  return h.digest('hex');
}

/** The many-small-files set: file i, of `size(i)` bytes, in directory `d{i % dirs}`. */
export interface SmallSet {
  /** e.g. "10000 x 4 KiB". */
  readonly label: string;
  readonly files: number;
  readonly dirs: number;
  /** The set's bytes in all. */
  readonly bytes: number;
  size(i: number): number;
}

/** `files` files of `size` bytes each, 100 a directory (`files` a multiple of 100). */
export function uniformSet(files: number, size: number): SmallSet {
  return {
    label: `${files} x ${size / 1024} KiB`,
    files,
    dirs: files / 100,
    bytes: files * size,
    size: () => size,
  };
}

/**
 * Issue 16's own table: 8 000 files of 1-64 KiB in 240 directories (about 271 MB). The sizes are
 * drawn uniformly from a fixed seed, so every contender (and every run) gets the same set.
 */
export function mixedSet(files = 8000, dirs = 240): SmallSet {
  return seededSet(files, dirs, 1024, 64 * 1024, '1-64 KiB');
}

/**
 * A folder of photos as a phone or a camera leaves them: 200 files of 1.5-6 MiB in 10
 * directories (about 790 MB), each over the 1 MiB that goes in batches, so each one is fetched
 * by the large-file route (BENCH_SMALL_SET=photos).
 */
export function photoSet(files = 200, dirs = 10): SmallSet {
  return seededSet(files, dirs, 1536 * 1024, 6 * 1024 * 1024, '1.5-6 MiB');
}

/** `files` sizes drawn uniformly in [min, max] from a fixed seed: the same set every run. */
function seededSet(files: number, dirs: number, min: number, max: number, range: string): SmallSet {
  let state = 0x9e3779b9;
  const sizes = Array.from({ length: files }, () => {
    // xorshift32: a few lines, deterministic, good enough to spread sizes.
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return min + ((state >>> 0) % (max - min + 1));
  });
  const bytes = sizes.reduce((a, b) => a + b, 0);
  return {
    label: `${files} x ${range} in ${dirs} dirs (${Math.round(bytes / 1e6)} MB)`,
    files,
    dirs,
    bytes,
    size: (i) => sizes[i] ?? 0,
  };
}

/** The data sets, as the contenders get them. */
export interface FolderSets {
  readonly small: SmallSet;
  readonly bigSize: number;
  /** BENCH_LIVE=1: the small set is written while the clock runs. */
  readonly live: boolean;
}

/** Two systems syncing one folder between two roots: Mosaic's nodes, or Syncthing's. */
export interface Contender {
  /** Files each side has indexed, and what each still needs. */
  status(): Promise<{ files: [number, number]; need: [number, number] }>;
  readonly pids: readonly (number | undefined)[];
  stop(): Promise<void>;
  /** Mosaic started without signing in: sign in now (off the clock), for `status` by the API. */
  signIn?(): Promise<void>;
  /** Mosaic: both nodes stopped and started again on the same data (BENCH_RESTART). */
  restart?(expectedFiles: number): Promise<Restarted>;
}

/** A restart of both nodes with every file unchanged (issue 16: < 5 s, no re-hash, no re-send). */
export interface Restarted {
  /** From the first spawn until both nodes' first full scan ended and they agree again. */
  seconds: number;
  /** The start-up scans' durations, as the nodes logged them. */
  scanMs: number[];
  /** Files the start-up scans read again (hashed), and changes they found. */
  hashed: number;
  changed: number;
  /** Bytes node 2 fetched from node 1 after the restart. */
  fetchedBytes: number;
  /** RSS of each node 5 s after it settled (idle). */
  idleRssMb: number[];
}

/**
 * Waits until both sides say they hold `files` files and need nothing (asking them is cheap, so
 * the bench's own polling does not compete for the cores), then until the disks agree on paths
 * and sizes. Returns when both said so (the disks agreeing then), and when side 1 had indexed
 * everything, as a milestone (seconds since t0).
 */
export async function waitIdentical(
  contender: Contender,
  roots: readonly [string, string],
  files: number,
  t0: number,
  /** Called once, at the first answer that says both sides are done (before the bench's listing). */
  onDone?: () => Promise<void>,
): Promise<{ indexedS: number; doneS: number }> {
  let indexedS = Number.NaN;
  let reported = t0;
  for (;;) {
    const status = await contender.status().catch(() => null);
    if (status && performance.now() - reported > 5000) {
      reported = performance.now();
      const at = round((reported - t0) / 1000);
      console.log(
        `  ${at} s: files ${status.files.join(' / ')}, needed ${status.need.join(' / ')}`,
      );
    }
    if (status && Number.isNaN(indexedS) && status.files[0] >= files)
      indexedS = (performance.now() - t0) / 1000;
    if (status?.files[0] === files && status.files[1] === files && status.need[1] === 0) {
      // The clock stops at the answer that said so, if the disks then agree: listing 2 × 10 000
      // files (a stat each) takes the bench a few hundred ms the contenders did not use.
      const doneAt = performance.now();
      await onDone?.();
      onDone = undefined;
      const [la, lb] = await Promise.all(roots.map(listing));
      if (la && lb && la.size === lb.size && [...la].every(([p, s]) => lb.get(p) === s))
        return { indexedS, doneS: (doneAt - t0) / 1000 };
    }
    // Every 100 ms: the nodes keep their counts until the index changes (a cheap answer).
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The check after the clock stopped: every file hashes the same on both sides. */
export async function verify(roots: readonly [string, string]): Promise<void> {
  for (const p of (await listing(roots[0])).keys()) {
    if ((await sha(join(roots[0], p))) !== (await sha(join(roots[1], p))))
      throw new Error(`${p} differs`);
  }
}

/** The set's files, of random bytes, under `<root>/small/`, a directory at a time. */
export async function writeSmallSet(root: string, set: SmallSet): Promise<void> {
  for (let d = 0; d < set.dirs; d++) {
    const sub = join(root, 'small', `d${d}`);
    await mkdir(sub, { recursive: true });
    const writes: Promise<void>[] = [];
    for (let i = d; i < set.files; i += set.dirs)
      writes.push(
        writeFile(join(sub, `f${Math.floor(i / set.dirs)}.bin`), randomBytes(set.size(i))),
      );
    await Promise.all(writes);
  }
}

/** One file of `size` random bytes (rounded up to 16 MiB), written 16 MiB at a time. */
export async function writeBigFile(file: string, size: number): Promise<void> {
  const chunk = randomBytes(16 * 1024 * 1024);
  const handle = await open(file, 'w');
  for (let written = 0; written < size; written += chunk.length) await handle.write(chunk);
  await handle.close();
}
