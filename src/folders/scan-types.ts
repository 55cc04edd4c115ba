/** What a scan of a synced folder takes and reports (scanner.ts). */
import type { ContentKeeper, FileHash } from './blocks.js';
import type { FileKind } from './folder-index.repository.js';
import type { IsIgnored } from './ignore.js';
import type { FolderIndexReader } from './index-cursor.js';

/** One path that differs from the index. */
export interface LocalChange {
  /** Relative, '/'-separated, NFC. */
  readonly path: string;
  readonly kind: FileKind;
  /** Gone from disk (it was in the index, neither deleted nor still needed). */
  readonly deleted: boolean;
  /** SHA-256 hex of the content; null for directories and deletions. */
  readonly hash: string | null;
  readonly size: number;
  /** Whole milliseconds; the caller stores it as local_mtime_ms (and as the version's mtime). */
  readonly mtimeMs: number;
  /** The caller stores size, mtimeMs and inode as local_*; inode is null for a deletion. */
  readonly inode: number | null;
  readonly blockSize: number;
  /** Concatenated block hashes of a file; null for directories and deletions. */
  readonly blocks: Buffer | null;
}

export interface ScanLog {
  warn(details: object, message: string): void;
}

export type Hasher = (
  path: string,
  options: { blockSize: number; keep?: ContentKeeper; sizeHint?: number },
) => Promise<FileHash>;

export interface ScanOptions {
  /** The folder's directory on disk. */
  readonly root: string;
  /** The folder id (index rows and marker). */
  readonly folder: string;
  readonly index: FolderIndexReader;
  readonly isIgnored: IsIgnored;
  readonly log: ScanLog;
  /**
   * Receives the changes, `batchSize` at a time or fewer holding `batchBytes` (the first batches
   * hold 100, 200, 400... up to `batchSize`; the last may be smaller), in path order; the scan
   * waits for it. It is the only way the scan's findings leave the scanner.
   */
  readonly onBatch: (changes: LocalChange[]) => void | Promise<void>;
  /**
   * Scan only below this directory (a relative path; default '' = the whole folder). The
   * directory itself is not judged: the caller makes sure it exists (else scans its parent).
   */
  readonly under?: string;
  /**
   * Do not descend into directories the index already knows (same inode): for a watcher's hint
   * that something changed in `under` itself. New directories are still walked entirely.
   */
  readonly shallow?: boolean;
  /**
   * In a shallow scan, known directories that are listed all the same: those the watcher named
   * themselves. A file made in a directory before the watcher's watch on it began is reported
   * by nobody; the directory's own event (made, or made again under a name the index knows,
   * with the same inode after a scan saw it empty) is the only sign of it.
   */
  readonly lookInside?: ReadonlySet<string>;
  /** Default 1000 (a scan's first batches are smaller: see `onBatch`). */
  readonly batchSize?: number;
  /**
   * A batch is also reported once the files in it hold this many bytes (default 64 MiB): a
   * folder of photos is offered to peers a few dozen files at a time while the scan still
   * hashes the rest, not all at its end.
   */
  readonly batchBytes?: number;
  /** Index rows read at once. Default 1000. */
  readonly indexPageSize?: number;
  /** Files stat'ed and hashed at once (reports stay in path order). Default 8. */
  readonly concurrency?: number;
  /**
   * Gets the bytes of files up to its `maxFileBytes` as they are hashed, so the caller can serve
   * them without reading them again (RecentContent). Default: none.
   */
  readonly keep?: ContentKeeper;
  /** Default: hashOnThreads (hash-threads.ts). Tests inject a counting one. */
  readonly hasher?: Hasher;
  /**
   * A file whose mtime is less than this old when it would be hashed is left for a later scan:
   * a write within the same timestamp tick would leave size and mtime as recorded, and the
   * change would go unseen, and a file still being written would be sent once per scan, each
   * partial version trashed at every other node. Default: 2000 ms if the mtime is a whole
   * second (coarse file systems: FAT, ext3, HFS+), else 1000 ms. The caller rescans once the
   * youngest such file has settled (`settlesInMs`).
   */
  readonly settleMs?: number;
}

export interface ScanResult {
  /** Regular files and directories found (ignored and skipped ones excluded). */
  readonly files: number;
  readonly dirs: number;
  readonly hashed: number;
  readonly hashedBytes: number;
  /** New or modified files and directories reported. */
  readonly changed: number;
  readonly deleted: number;
  /** Files left for the next scan because they were being written; rescan soon if > 0. */
  readonly stillChanging: number;
  /** Of those, the wait (ms) until the most recently modified one has settled; 0 if none. */
  readonly settlesInMs: number;
  /** Symbolic links, special files, unreadable entries (each logged). */
  readonly skipped: number;
  /** How many times onBatch was called. */
  readonly batches: number;
}
