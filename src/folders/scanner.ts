/**
 * Finds what changed on disk in a synced folder since it was last indexed.
 *
 * Who does what:
 *   - The scanner only reads: the disk, and the folder's index (through `index.page`). It never
 *     writes the index and does not decide versions.
 *   - It reports each change — a new or modified file (hashed), a new directory, a deletion —
 *     as a LocalChange, in batches, through the caller's `onBatch`.
 *   - The caller turns a batch into versions (version vectors, HLC, conflicts) and writes the
 *     index rows, in one transaction per batch, including the `local_*` columns taken from the
 *     change (size, mtimeMs, inode; null for a deletion). That record is what lets the next
 *     scan skip an untouched file without reading it, so it must be written with the version,
 *     never on its own: a crash in between would otherwise hide the change forever.
 *
 * How the walk stays bounded: directories are read one at a time (`readdir`), iteratively
 * (a stack, no recursion), and visited in exactly the order of the index's primary key (UTF-8
 * byte order of the full path). The index is read alongside in pages of that same order — a
 * merge join — so finding the files that are gone takes no set of seen paths. Memory: the
 * listings of the directories on the current path, one page of index rows and one batch.
 *
 * Safety rules (an unmounted disk must never turn into mass deletes):
 *   - No root or no marker (`.mosaic/folder.json` of this folder): FolderMissingError before
 *     anything is reported, and again before each batch, should the disk go away mid-scan.
 *   - A deletion is reported only for a path that a directory listing positively lacks. What
 *     cannot be read (a directory that fails to open, a symbolic link, a special file, an
 *     ignored path) keeps its index rows, and those of everything below it, untouched.
 *   - A file that changes while it is read is not reported ("still changing"); nor is one
 *     modified so recently that a further write could keep its size and mtime (see `settleMs`).
 *     Both are counted in `stillChanging`: the caller rescans soon.
 *
 * The caller must not apply remote changes to the same folder while a scan runs.
 */
import { lstat } from 'node:fs/promises';
import { join } from 'node:path';
import { inodeNumber, wholeMs } from './disk-state.js';
import { blockSizeFor, NotARegularFileError } from './blocks.js';
import { hashOnThreads, THREAD_HASH_MIN_BYTES } from './hash-threads.js';
import type { ScanRow } from './folder-index.repository.js';
import { hasInternalSegment } from './core/index.js';
import { IndexCursor } from './index-cursor.js';
import { assertMarker, FolderMissingError } from './marker.js';
import { compareUtf8 } from './paths.js';
import {
  isGone,
  listSteps,
  type Frame,
  type Inspection,
  type Entry,
  type Step,
} from './scan-list.js';
import { ScanStat } from './scan-stat.js';
import { settleWaitMs } from './settle.js';
import type { Hasher, LocalChange, ScanOptions, ScanResult } from './scan-types.js';
import { timed } from './trace.js';
import { heldHere } from './write-records.js';

export type { FolderIndexReader } from './index-cursor.js';
export { ensureMarker, FolderMissingError } from './marker.js';
export type { Hasher, LocalChange, ScanLog, ScanOptions, ScanResult } from './scan-types.js';

const DEFAULT_BATCH = 1000;
/**
 * The first batch of a scan holds at most this many files, each next one twice as many, up to
 * `batchSize`: a new folder's first operations reach the peers once ~100 files are hashed, not
 * 1 000, so they start fetching while the rest is scanned (docs/benchmarks.md).
 */
const FIRST_BATCH = 100;
const DEFAULT_BATCH_BYTES = 64 * 1024 * 1024;
const DEFAULT_CONCURRENCY = 8;
const INDEX_PAGE = 1000;
/** Throws FolderMissingError (reporting nothing) when the root or its marker is missing. */
export async function scanFolder(options: ScanOptions): Promise<ScanResult> {
  await assertMarker(options.root, options.folder);
  return new Scan(options).run();
}

class Scan {
  private readonly under: string;
  private readonly cursor: IndexCursor;
  private readonly hasher: Hasher;
  private readonly batchSize: number;
  private readonly batchBytes: number;
  /** Bytes of the files in `batch`. */
  private batchHeld = 0;
  private readonly concurrency: number;
  /**
   * Findings in path order, most still being inspected (stat, hash): up to `concurrency` files
   * are read at once, and reported from the front, so batches stay in path order.
   */
  private readonly queue: Promise<LocalChange | null>[] = [];
  private batch: LocalChange[] = [];
  private files = 0;
  private dirs = 0;
  private hashed = 0;
  private hashedBytes = 0;
  private changed = 0;
  private deleted = 0;
  private stillChanging = 0;
  /** How long until the youngest file left for being too recent has settled. */
  private settlesInMs = 0;
  private skipped = 0;
  private batches = 0;
  private readonly stat = new ScanStat();

  constructor(private readonly o: ScanOptions) {
    this.under = o.under ?? '';
    this.cursor = new IndexCursor(
      o.index,
      o.folder,
      Math.max(1, o.indexPageSize ?? INDEX_PAGE),
      this.under === '' ? '' : `${this.under}/`,
    );
    this.hasher = o.hasher ?? hashOnThreads;
    this.batchSize = Math.max(1, o.batchSize ?? DEFAULT_BATCH);
    this.batchBytes = Math.max(1, o.batchBytes ?? DEFAULT_BATCH_BYTES);
    this.concurrency = Math.max(1, o.concurrency ?? DEFAULT_CONCURRENCY);
  }

  async run(): Promise<ScanResult> {
    try {
      return await this.walk();
    } finally {
      // Leave nothing running behind a scan that failed (inspections never reject).
      await Promise.all(this.queue);
    }
  }

  private async walk(): Promise<ScanResult> {
    const start = this.under === '' ? this.o.root : join(this.o.root, ...this.under.split('/'));
    const rootSteps = await this.list(start, this.under);
    if (rootSteps === null) {
      if (this.under === '') throw new FolderMissingError(this.o.root, 'root-unreadable');
      // The directory went away since the caller looked: a scan of its parent will see that.
      this.stillChanging++;
      return this.result();
    }
    const stack: Frame[] = [{ path: this.under, abs: start, steps: rootSteps, next: 0 }];
    for (let frame = stack.at(-1); frame !== undefined; frame = stack.at(-1)) {
      const step = frame.steps[frame.next++];
      if (step === undefined) {
        // Whatever the index still has below this directory is not on disk.
        await this.orphans(frame.path === '' ? '' : `${frame.path}/`, null);
        stack.pop();
        continue;
      }
      await this.orphans('', step.key);
      const entry = step.entry;
      if (!step.below) {
        entry.inspection = this.inspect(frame.abs, entry, this.cursor.take(step.key));
        await this.enqueue(entry.inspection.then((inspection) => inspection.change));
        continue;
      }
      // Only a directory, or index rows below the entry, need to wait for what it turned out
      // to be; files (most entries) don't, so several are inspected at once.
      const rowsBelow = this.cursor.peek()?.path.startsWith(step.key) === true;
      if (!entry.mayBeDir && !rowsBelow) continue;
      const inspection = await entry.inspection;
      let below = inspection.below;
      // Shallow: a directory the index knows is someone else's to scan (no hint came from it),
      // unless the watcher named that directory itself (`lookInside`).
      if (
        below === 'descend' &&
        this.o.shallow === true &&
        inspection.change === null &&
        this.o.lookInside?.has(entry.path) !== true
      ) {
        below = 'protect';
      }
      if (below === 'descend') {
        const abs = join(frame.abs, entry.name);
        const steps = await this.list(abs, entry.path);
        if (steps !== null) {
          stack.push({ path: entry.path, abs, steps, next: 0 });
          continue;
        }
        below = 'protect';
      }
      if (below === 'protect') this.cursor.skipPrefix(step.key);
      // 'orphans' (the entry is a file now): rows below it are reported as they come.
    }
    while (this.queue.length > 0) await this.reportNext();
    await this.flush();
    return this.result();
  }

  private result(): ScanResult {
    return {
      files: this.files,
      dirs: this.dirs,
      hashed: this.hashed,
      hashedBytes: this.hashedBytes,
      changed: this.changed,
      deleted: this.deleted,
      stillChanging: this.stillChanging,
      settlesInMs: this.settlesInMs,
      skipped: this.skipped,
      batches: this.batches,
    };
  }

  /** The steps of one directory in index order, or null when it cannot be read (scan-list.ts). */
  private list(abs: string, path: string): Promise<Step[] | null> {
    return listSteps(abs, path, {
      root: this.o.root,
      skip: (p, why, error) => {
        this.skip(p, why, error);
      },
      gone: () => {
        this.stillChanging++;
      },
      ignored: (p, isDir) => this.o.isIgnored(p, isDir),
      folder: this.o.folder,
      log: this.o.log,
    });
  }

  /** Looks at one entry. Never rejects: what cannot be read is logged and skipped. */
  private async inspect(
    dirAbs: string,
    entry: Entry,
    row: ScanRow | undefined,
  ): Promise<Inspection> {
    try {
      return await this.look(join(dirAbs, entry.name), entry.path, row);
    } catch (error) {
      if (isGone(error) || error instanceof NotARegularFileError) this.stillChanging++;
      else this.skip(entry.path, 'cannot be read', error);
      return { change: null, below: 'protect' };
    }
  }

  private async look(abs: string, path: string, row: ScanRow | undefined): Promise<Inspection> {
    const info = await this.stat.lstat(abs);
    const isDir = info.isDirectory();
    if (this.o.isIgnored(path, isDir)) return { change: null, below: 'protect' };
    if (info.isSymbolicLink()) {
      this.skip(path, 'symbolic link, not synced');
      return { change: null, below: 'protect' };
    }
    if (isDir) {
      this.dirs++;
      const inode = inodeNumber(info.ino);
      // The directory indexed here, also while a file's version that replaces it waits for
      // the pull (its files' deletions go first): not a new local directory.
      if (row !== undefined && !row.heldFile && row.localInode === inode)
        return { change: null, below: 'descend' };
      this.changed++;
      const change: LocalChange = {
        path,
        kind: 'dir',
        deleted: false,
        hash: null,
        size: 0,
        mtimeMs: wholeMs(info.mtimeNs),
        inode,
        blockSize: 0,
        blocks: null,
      };
      return { change, below: 'descend' };
    }
    if (!info.isFile()) {
      this.skip(path, 'special file (socket, FIFO or device)');
      return { change: null, below: 'protect' };
    }
    this.files++;
    const size = Number(info.size);
    const mtimeMs = wholeMs(info.mtimeNs);
    const inode = inodeNumber(info.ino);
    if (
      row?.heldFile === true &&
      row.localSize === size &&
      row.localMtimeMs === mtimeMs &&
      row.localInode === inode
    ) {
      return { change: null, below: 'orphans' };
    }
    if (!this.settled(info.mtimeNs)) {
      this.stillChanging++;
      return { change: null, below: 'orphans' };
    }
    const hashed = await timed('scan.hash', () =>
      this.hasher(abs, {
        blockSize: blockSizeFor(size, row?.blockSize),
        sizeHint: size,
        // A large file's block list is only for a peer that already holds part of it: made
        // when one asks (FolderSync.blocksFor), not by every scan (a second SHA-256 pass).
        ...(size > THREAD_HASH_MIN_BYTES ? { part: 'whole' as const } : {}),
        ...(this.o.keep === undefined ? {} : { keep: this.o.keep }),
      }),
    );
    // The bytes hashed must be the file stat'ed, unchanged: a small file's descriptor said so
    // after its read (`read`: the same inode, so a path replaced since is the next scan's);
    // a large one's path is looked at again.
    const after = hashed.read ?? (await lstat(abs, { bigint: true }));
    this.hashed++;
    this.hashedBytes += hashed.size;
    if (
      hashed.size !== size ||
      after.size !== info.size ||
      after.mtimeNs !== info.mtimeNs ||
      after.ino !== info.ino
    ) {
      this.stillChanging++;
      return { change: null, below: 'orphans' };
    }
    this.changed++;
    const change: LocalChange = {
      path,
      kind: 'file',
      deleted: false,
      hash: hashed.hash,
      size,
      mtimeMs,
      inode,
      blockSize: hashed.blockSize,
      blocks: hashed.blocks,
    };
    return { change, below: 'orphans' };
  }

  /**
   * Consumes the index rows before `before` (or, with `before` null, all those starting with
   * `prefix`): the listing has no such entry, so each live one is reported deleted.
   */
  private async orphans(prefix: string, before: string | null): Promise<void> {
    for (let row = this.cursor.peek(); row !== undefined; row = this.cursor.peek()) {
      if (before === null ? !row.path.startsWith(prefix) : compareUtf8(row.path, before) >= 0) {
        return;
      }
      this.cursor.next();
      // A `.mosaic` directory, at the root or below, is never part of the folder's content.
      if (row.deleted || hasInternalSegment(row.path)) continue;
      // A path with a pending version is the pull's, except one this disk held as indexed and
      // no longer holds: the user removed the version on disk, which must become a version too
      // (based on it: local-changes.ts), or it would stay undominated. The pull leaves such a
      // path to this scan (FolderWriter.place, FolderPull.applyOne), then writes what wins over
      // the removal. The removal is of what the disk held, which may not be the pending kind.
      if (row.need && !heldHere(row)) continue;
      const kind = !row.need ? row.kind : row.heldFile ? 'file' : 'dir';
      if (this.o.isIgnored(row.path, kind === 'dir')) continue;
      this.deleted++;
      await this.enqueue(
        Promise.resolve({
          path: row.path,
          kind,
          deleted: true,
          hash: null,
          size: 0,
          mtimeMs: 0,
          inode: null,
          blockSize: 0,
          blocks: null,
        }),
      );
    }
  }

  /** Whether the file is quiet enough to read (settle.ts); if not, when it will be. */
  private settled(mtimeNs: bigint): boolean {
    const wait = settleWaitMs(mtimeNs, Date.now(), this.o.settleMs);
    this.settlesInMs = Math.max(this.settlesInMs, wait);
    return wait === 0;
  }

  private async enqueue(finding: Promise<LocalChange | null>): Promise<void> {
    this.queue.push(finding);
    if (this.queue.length >= this.concurrency) await this.reportNext();
  }

  private async reportNext(): Promise<void> {
    const change = await this.queue.shift();
    if (change !== null && change !== undefined) await this.report(change);
  }

  private async report(change: LocalChange): Promise<void> {
    this.batch.push(change);
    this.batchHeld += change.size;
    // FIRST_BATCH, doubling with each batch reported, up to batchSize.
    const limit = Math.min(this.batchSize, FIRST_BATCH * 2 ** this.batches);
    if (this.batch.length >= limit || this.batchHeld >= this.batchBytes) await this.flush();
  }

  private async flush(): Promise<void> {
    if (this.batch.length === 0) return;
    // The disk may have gone away since the scan started: check before every batch.
    await assertMarker(this.o.root, this.o.folder);
    const batch = this.batch;
    this.batch = [];
    this.batchHeld = 0;
    this.batches++;
    await this.o.onBatch(batch);
  }

  private skip(path: string, why: string, error?: unknown): void {
    this.skipped++;
    this.o.log.warn({ folder: this.o.folder, path, err: error }, `folder scan skipped: ${why}`);
  }
}
