/**
 * What a pull wrote, recorded (FolderWriter's bookkeeping): the disk states written but not
 * recorded yet, the files moved into or out of the trash, the directories whose entries changed;
 * `flush` makes them durable (one fsync per touched directory) and records them in one
 * transaction with the round's `folder_applying` entries. Also remembers what this node wrote
 * lately, so that the watcher's events for it are no news (`notOwnWrites`).
 */
import { readdirSync } from 'node:fs';
import { setImmediate as setImmediatePromise } from 'node:timers/promises';
import { fsyncDir } from '../core/fsync.js';
import { joinInside } from './core/index.js';
import { diskStateSync, type DiskState, type TempState } from './disk-state.js';
import type { DiskRecord, FolderFileRow } from './folder-index.repository.js';
import type { FolderSyncDeps } from './folder-sync.js';
import { LinkLog } from './link-log.js';
import { span } from './trace.js';
import { WriteEchoes } from './write-echoes.js';

export class WriteRecords {
  /** Disk states written but not recorded yet, and directories to fsync (see flush). */
  private records: DiskRecord[] = [];
  private trashedFiles: { hash: string; file: string }[] = [];
  /** Trashed files taken back out of the trash (see fromThisDisk), to forget at the flush. */
  private untrashedFiles: string[] = [];
  private readonly dirsToSync = new Set<string>();
  /**
   * Files this node wrote (or removed) and recorded lately, as recorded: the watcher's events
   * for them are not news if the disk still says so (`notOwnWrites`). Bounded.
   */
  private readonly written = new Map<string, Recorded>();
  /** Files about to be linked, logged until recorded: a kill in between undoes no deletion. */
  private readonly log: LinkLog;
  /** Written paths the watcher has not reported yet (write-echoes.ts). */
  private readonly echoes: WriteEchoes;

  /** `onSilent`: written paths the watcher never reported, to look at again (hints). */
  constructor(
    private readonly deps: FolderSyncDeps,
    onSilent: (paths: Set<string>) => void,
  ) {
    this.log = new LinkLog(deps.config.root);
    this.echoes = new WriteEchoes(onSilent);
  }

  /** The watcher reported `path` (write-echoes.ts). */
  heard(path: string): void {
    this.echoes.heard(path);
  }

  /** Start-up: records the files a killed pull placed and never recorded (link-log.ts). */
  recoverLinked(): Promise<number> {
    return this.log.recover(this.id, this.deps.index);
  }

  close(): void {
    this.log.close();
    this.echoes.close();
  }

  private get id(): string {
    return this.deps.config.id;
  }

  /** A directory whose entries changed, fsynced before the next records. */
  syncDirLater(dir: string): void {
    this.dirsToSync.add(dir);
  }

  /** A file moved into the trash, remembered by hash with the next records. */
  trashed(hash: string, file: string): void {
    this.trashedFiles.push({ hash, file });
  }

  /** A trashed file taken back out of the trash: forgotten with the next records. */
  untrashed(file: string): void {
    this.untrashedFiles.push(file);
  }

  /** The disk now holds the row's version. */
  record(
    row: FolderFileRow,
    info: { size: number; mtimeMs: number; ino: number } | null,
    hash: string | null,
  ): void {
    this.echoes.wrote(row.path);
    this.records.push({
      row,
      localSize: info && row.kind === 'file' ? info.size : info ? 0 : null,
      localMtimeMs: info ? Math.floor(info.mtimeMs) : null,
      localInode: info ? info.ino : null,
      localHash: hash,
    });
  }

  /** `row`'s file, written to `tmp`, is about to be linked to its path (link-log.ts). */
  linking(row: FolderFileRow, info: TempState, tmp: string): void {
    this.log.linking(row, info, tmp);
  }

  /** Several files about to be linked, logged in one write (link-log.ts `linkingAll`). */
  linkingAll(files: readonly { row: FolderFileRow; info: TempState; tmp: string }[]): void {
    this.log.linkingAll(files);
  }

  /**
   * `row`'s directory, made as `tmp`, is about to be renamed to its path; `tmp` null: it was
   * found there (link-log.ts).
   */
  makingDir(row: FolderFileRow, info: DiskState, tmp: string | null): void {
    this.log.makingDir(row, info, tmp);
  }

  /** `path`'s logged file was not linked; its temp file is about to be removed (link-log.ts). */
  notLinked(path: string): void {
    this.log.notLinked(path);
  }

  /**
   * Makes what was written durable, then records it: one fsync per directory touched and one
   * transaction per page, not per file (a crash in between leaves files the next scan finds
   * identical to their version, so they merge without a conflict).
   */
  async flush(applied: readonly string[] = []): Promise<void> {
    await this.deps.beforeRecord?.();
    const dirs = [...this.dirsToSync];
    this.dirsToSync.clear();
    const endSync = span('flush.fsyncDirs', dirs.length);
    await Promise.all(dirs.map((d) => fsyncDir(d).catch(() => undefined)));
    endSync();
    const rows = this.records;
    const trashed = this.trashedFiles;
    const untrashed = this.untrashedFiles;
    this.records = [];
    this.trashedFiles = [];
    this.untrashedFiles = [];
    const { index } = this.deps;
    const endCommit = span('flush.commit', rows.length);
    // One transaction: the disk states, the trash and the round's applying versions together.
    const endGate = span('flush.gate');
    await index.transaction(() => {
      endGate();
      index.trash.record(this.id, trashed, untrashed, Date.now());
      // Against the path's current version: a newer one that arrived meanwhile stays.
      index.recordDiskStates(rows);
      index.versions.doneApplying(this.id, applied);
    });
    endCommit();
    // Recorded: the log of them is not needed any more (unless more were placed meanwhile).
    if (this.records.length === 0) this.log.clear();
    // Directories too: the watcher reports the ones a pull made, and such a report is no more
    // news than a placed file's (while it is still a directory, or still gone).
    for (const record of rows) {
      if (this.written.size >= MAX_WRITTEN) this.written.clear();
      this.written.set(record.row.path, {
        localSize: record.localSize,
        localMtimeMs: record.localMtimeMs,
        localInode: record.localInode,
        localHash: record.localHash,
        kind: record.row.kind,
      });
    }
  }

  /**
   * The watcher's hinted paths less the files and directories this node itself just wrote or
   * removed and recorded, when the disk still holds exactly that (one lstat each; a directory listing and a
   * look at every file beside it saved). Anything else, a save since included, stays a hint.
   *
   * The lstats are direct calls (`diskStateSync`): the files were just written, so their
   * directory entries and inodes are in the kernel's caches, ~5 microseconds each. Awaited one
   * by one through the thread pool they cost ~36 microseconds of this thread each, and each
   * waited behind the pull's flushes queued there, all under the folder's lock (docs/
   * benchmarks.md, "Changed: a pull's own writes looked at directly"). Every OWN_WRITES_SLICE
   * paths the event loop gets a turn.
   */
  async notOwnWrites(hints: ReadonlySet<string>): Promise<Set<string>> {
    const rest = new Set<string>();
    let looked = 0;
    for (const path of hints) {
      const recorded = this.written.get(path);
      if (recorded === undefined) {
        rest.add(path);
        continue;
      }
      if (++looked % OWN_WRITES_SLICE === 0) await setImmediatePromise();
      let info: DiskState | null | undefined;
      try {
        info = diskStateSync(joinInside(this.deps.config.root, path));
      } catch {
        info = undefined;
      }
      // Kept while the disk still holds it: the watcher may report one write twice (its
      // events split over two reports), and the second report is no more news than the first.
      if (info === undefined || !stillWritten(recorded, info)) {
        this.written.delete(path);
        rest.add(path);
      } else if (recorded.kind === 'dir') {
        const stranger = this.notWrittenIn(path);
        if (stranger !== null) rest.add(stranger);
      }
    }
    return rest;
  }

  /**
   * A path in the directory `dir` (which this node made) that this node did not write, or null.
   * The watcher watches a new directory from a moment after it appears, so a file the user
   * made in it at once is reported by nobody: the directory's own report is the only sign.
   * One listing, no lstat: a name this node wrote and recorded is taken for its own (a save
   * over it since came after the watch began, and is reported).
   */
  private notWrittenIn(dir: string): string | null {
    let names: string[];
    try {
      names = readdirSync(joinInside(this.deps.config.root, dir));
    } catch {
      return null; // gone or unreadable since the lstat: a scan could not look inside either
    }
    for (const name of names) {
      const path = `${dir}/${name.normalize('NFC')}`;
      if (!this.written.has(path)) return path;
    }
    return null;
  }
}

/** Own writes looked at between two turns of the event loop (notOwnWrites). */
const OWN_WRITES_SLICE = 1000;

/**
 * Whether the disk still holds exactly what this node wrote and recorded: `matchesIndexed`, and
 * for a directory the same one (its inode). Another directory under the name (the one made was
 * moved away, a new one made) is news: what the first one held is gone from there. So is
 * anything at a path this node recorded as removed: `matchesIndexed` lets a directory pass for
 * nothing (a pull's parents are made before their own versions come), but one there now was
 * made since, by the user or for a file placed below it; a scan of its parent decides which.
 * (Taken for no news, the user's directory stayed deleted in the index until the next full
 * scan, 30 s: the slow fault tier seeds.)
 */
function stillWritten(recorded: Recorded, info: DiskState | null): boolean {
  if (recorded.localInode === null && recorded.localSize === null) return info === null;
  if (recorded.kind === 'dir' && recorded.localInode !== null) {
    return info !== null && info.isDirectory() && info.ino === recorded.localInode;
  }
  return matchesIndexed(recorded, info);
}

/** Files recorded lately, at most (notOwnWrites); beyond, the memory is dropped. */
const MAX_WRITTEN = 50_000;

type Recorded = Pick<
  FolderFileRow,
  'kind' | 'localSize' | 'localMtimeMs' | 'localInode' | 'localHash'
>;

/** This disk held a file or directory here when the path was last scanned or written. */
export function heldHere(row: Pick<FolderFileRow, 'localSize' | 'localInode'>): boolean {
  return row.localSize !== null || row.localInode !== null;
}

/**
 * Whether the disk (`info`, from lstat, null when nothing is there) still holds what the index
 * says was there when it was last scanned or written: only then may a remote change replace it.
 */
export function matchesIndexed(
  row: Recorded,
  info: { size: number; mtimeMs: number; ino: number; isDirectory(): boolean } | null,
): boolean {
  if (!heldHere(row)) return info === null || info.isDirectory();
  if (info === null) return false;
  // The disk held a directory (no hash), whatever the current version is: a file's version
  // replacing it finds the directory as held even though removing its files changed its mtime
  // (test/device/device-replaced.test.ts).
  if (row.localHash === null) return info.isDirectory();
  return (
    info.size === row.localSize &&
    Math.floor(info.mtimeMs) === row.localMtimeMs &&
    info.ino === row.localInode
  );
}
