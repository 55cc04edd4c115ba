/**
 * One flush for a whole batch of files: syncfs(2), through the small binding in
 * `native/syncfs` (package `mosaic-syncfs`, built by node-gyp at `npm ci`, run on libuv's pool).
 *
 * A batch of N small files flushed by N fdatasyncs asks the disk to flush its write cache N
 * times; one syncfs writes the same pages and flushes once (docs/benchmarks.md, "One syncfs per
 * batch": 0.84 against 0.27 s of system time for 10 000 files of 4 KiB written, flushed and
 * linked, 1.4 against 0.45 s of wall time).
 *
 * What it promises, and when it is used: syncfs makes durable every page of the file system
 * that was dirty when it was called, so a file written before the call is on disk when it
 * returns. It reports a write-back error only since Linux 5.8, and only one that happened after
 * the descriptor it is given was opened (the file system's error sequence is sampled at open).
 * So the caller opens a witness descriptor before writing the first file of a batch and syncs
 * through it; and on an older kernel, on another system, or without the binding, this module
 * offers nothing (`fileSystemSync()` is null) and the caller flushes each file, as it does on a
 * file system whose syncfs may flush nothing (`syncfsFlushes`).
 *
 * What it costs: syncfs writes every dirty page of the file system, other programs' too. With
 * 1 GB that another program wrote and left to the kernel (a download, a backup, a video being
 * recorded), one syncfs took 0.85 s here where an fdatasync of one small file took 1.7 ms
 * (docs/benchmarks.md, "Other programs' dirty pages"); on a spinning disk it would be seconds,
 * and it pushes that program's pages out early. So a batch is flushed by syncfs only while the
 * system holds little dirty data besides the batch's own (`syncfsCheap`); else each file.
 *
 * MOSAIC_SYNCFS=off turns it off (to measure against the per-file flushes).
 */
import { readFileSync, statfsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { release } from 'node:os';

/** Flushes every dirty page of the file system holding `fd`; rejects on a write-back error. */
export type SyncFileSystem = (fd: number) => Promise<void>;

let loaded: SyncFileSystem | null | undefined;

/** The kernel reports write-back errors to syncfs (Linux 5.8 and later). */
export function reportsWritebackErrors(platform: string, kernel: string): boolean {
  if (platform !== 'linux') return false;
  const match = /^(\d+)\.(\d+)/.exec(kernel);
  if (match === null) return false;
  const [major, minor] = [Number(match[1]), Number(match[2])];
  return major > 5 || (major === 5 && minor >= 8);
}

/**
 * File systems whose syncfs writes and waits for every dirty page and flushes the disk's cache,
 * by `statfs` type: ext2/3/4, XFS, Btrfs, F2FS, ZFS, and tmpfs (nothing to flush). Not FUSE:
 * without its server's support (FUSE_SYNCFS, Linux 5.15) syncfs answers at once having flushed
 * nothing, where fdatasync reaches the server; not network file systems either.
 */
const SYNCFS_FLUSHES = new Set([
  0xef53, 0x58465342, 0x9123683e, 0xf2f52010, 0x2fc12fc1, 0x01021994,
]);

/** Whether one syncfs makes durable what was written under `path` (else: fdatasync each). */
export function syncfsFlushes(path: string): boolean {
  try {
    return SYNCFS_FLUSHES.has(statfsSync(path).type);
  } catch {
    return false;
  }
}

/** How long `syncfsFlushesOf` trusts what it last found (a mount can change under a path). */
export const FS_TYPE_RECHECK_MS = 1000;

/**
 * `syncfsFlushes(path)` asked again at most once per `FS_TYPE_RECHECK_MS`: a folder's receiver
 * asks for each group of files it writes, and a `statfs` per group cost 2–3 % of its CPU on a
 * sync of 8 000 small files (docs/benchmarks.md).
 */
export function syncfsFlushesOf(
  path: string,
  probe: (path: string) => boolean = syncfsFlushes,
  now: () => number = () => performance.now(),
): () => boolean {
  let checkedAt = -Infinity;
  let flushes = false;
  return () => {
    const at = now();
    if (at - checkedAt >= FS_TYPE_RECHECK_MS) {
      flushes = probe(path);
      checkedAt = at;
    }
    return flushes;
  };
}

/** syncfs for this process, or null when it cannot be trusted or is not there (see above). */
export function fileSystemSync(): SyncFileSystem | null {
  if (loaded !== undefined) return loaded;
  loaded = null;
  if (process.env['MOSAIC_SYNCFS'] === 'off') return loaded;
  if (!reportsWritebackErrors(process.platform, release())) return loaded;
  try {
    const binding = createRequire(import.meta.url)('mosaic-syncfs') as { syncfs: SyncFileSystem };
    if (typeof binding.syncfs === 'function') loaded = binding.syncfs;
  } catch {
    // Not built (an optional dependency): each file is flushed by itself.
  }
  return loaded;
}

/**
 * Dirty data of other writers past which a batch is flushed file by file: at this much, a syncfs
 * costs about what a batch's fdatasyncs cost (256 flushes of ~1 ms on a solid-state disk, ~10 ms
 * on a spinning one, against 64 MiB written at ~250 MB/s or ~100 MB/s).
 */
export const OTHERS_DIRTY_MAX = 64 * 1024 * 1024;

/**
 * Bytes of the whole system's page cache that are dirty or being written back (`Dirty` +
 * `Writeback` in /proc/meminfo), or null where that cannot be read. System-wide, not per file
 * system: dirty data on another disk counts too, which only ever picks the per-file flushes.
 */
export function systemDirtyBytes(
  meminfo: () => string = () => readFileSync('/proc/meminfo', 'latin1'),
): number | null {
  let text: string;
  try {
    text = meminfo();
  } catch {
    return null;
  }
  const dirty = /^Dirty:\s+(\d+) kB$/m.exec(text)?.[1];
  const writeback = /^Writeback:\s+(\d+) kB$/m.exec(text)?.[1];
  return dirty === undefined || writeback === undefined
    ? null
    : (Number(dirty) + Number(writeback)) * 1024;
}

/**
 * Whether one syncfs for a batch of `own` bytes costs little more than flushing those bytes:
 * the system's dirty data (`systemDirtyBytes`, which includes the batch's) is at most
 * OTHERS_DIRTY_MAX more. Unknown dirty data: no.
 */
export function syncfsCheap(dirty: number | null, own: number): boolean {
  return dirty !== null && dirty <= own + OTHERS_DIRTY_MAX;
}
