/**
 * One synced folder on this node: finds local changes (watcher, start-up scan, periodic rescan)
 * and turns them into operations; brings the disk to the versions the index says it needs
 * (fetching content by hash from this disk, its trash, or a peer), safely.
 *
 * Safety rules (design.md, "Folder sync"):
 * - remote content lands in `.mosaic/tmp/` first, is hash-verified, and replaces the target by
 *   an atomic rename only if the target has not changed since it was indexed (otherwise the
 *   local change wins the race and becomes a version of its own at the next scan);
 * - replaced and deleted files go to `.mosaic/trash/<time>/<path>`, never unlinked;
 * - no root or no marker: the folder is paused, nothing is scanned, nothing written;
 * - scans and applies never overlap (one lock per folder).
 */
import { createHash, randomUUID } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import {
  copyFile,
  link,
  lstat,
  mkdir,
  open,
  readdir,
  rename,
  rm,
  rmdir,
  unlink,
  utimes,
} from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Logger } from 'pino';
import type { Db } from '../db/database.js';
import { fsyncDir, fsyncFile } from '../core/fsync.js';
import { Limiter } from '../core/limiter.js';
import type { ChangeLog } from '../oplog/change-log.js';
import type { FilePut } from '../oplog/op.js';
import {
  bumpVv,
  checkRelativePath,
  conflictName,
  isConflictName,
  joinInside,
} from './core/index.js';
import type { FolderConfig } from './folder-config.js';
import type { FolderFileRow, FolderIndexRepository } from './folder-index.repository.js';
import { diskDiffers } from './folder-apply.js';
import { MAX_FRAMED_FILE_BYTES, MAX_FRAMED_FILES } from './content-frames.js';
import type { ContentSource } from './content-source.js';
import { loadIgnore, type IsIgnored } from './ignore.js';
import { LocalContent } from './local-content.js';
import { fetchLarge } from './large-transfer.js';
import type { BlockList } from './blocks.js';
import {
  assertMarker,
  ensureMarker,
  folderTmpDir,
  folderTrashDir,
  FolderMissingError,
} from './marker.js';
import { scanFolder, type LocalChange } from './scanner.js';
import { diskState, handleDiskState } from './disk-state.js';
import { watchFolder, type FolderWatcher } from './watcher.js';

export type FolderState = 'idle' | 'scanning' | 'syncing' | 'paused';

export interface FolderStatus {
  id: string;
  path: string;
  state: FolderState;
  files: number;
  bytes: number;
  needFiles: number;
  conflicts: number;
}

export interface FolderSyncDeps {
  readonly config: FolderConfig;
  readonly db: Db;
  readonly index: FolderIndexRepository;
  readonly changes: ChangeLog;
  readonly selfId: string;
  readonly selfName: string;
  /** Where to fetch content this disk lacks: peers, or the node a device syncs with. */
  readonly sources: () => readonly ContentSource[];
  readonly log: Logger;
  readonly rescanIntervalMs?: number;
  /** How long replaced and deleted files stay in `.mosaic/trash/` (default 30 days). */
  readonly trashRetentionMs?: number;
  /**
   * Tests only: runs when a pulled file is about to replace what is at its path (after the
   * content is ready, before the target is checked and replaced), to race a local save.
   */
  readonly beforeReplace?: (path: string) => Promise<void>;
  /** Tests only: runs before written files are recorded (throw to act out a crash there). */
  readonly beforeRecord?: () => Promise<void>;
}

const NEED_PAGE = 500;
/** More directories than this to look at, and a hinted scan becomes a full one. */
const MAX_HINT_DIRS = 256;
/** The most bytes of small files asked for in one request. */
const BATCH_BYTES = 16 * 1024 * 1024;
/** Files a pull asks for one at a time after every peer refused them in a batch. */
const SINGLE_RETRIES = 32;

export class FolderSync {
  state: FolderState = 'paused';
  private readonly lock = new Limiter(1);
  private watcher: FolderWatcher | null = null;
  private isIgnored: IsIgnored = () => false;
  private timer: NodeJS.Timeout | null = null;
  private closed = false;
  private scanWanted = false;
  /** Paths the watcher (or a refused apply) said changed: scanned without a full walk. */
  private hints = new Set<string>();
  private pullWanted = false;
  private running: Promise<void> | null = null;
  /** Disk states written but not recorded yet, and directories to fsync (see flushRecords). */
  private records: FolderFileRow[] = [];
  private trashed: { hash: string; file: string }[] = [];
  /** Trashed files taken back out of the trash (see fromThisDisk), to forget at the flush. */
  private untrashed: string[] = [];
  private readonly dirsToSync = new Set<string>();
  private readonly io = new Limiter(16);
  /** Directories known to exist during a pull (saves a mkdir per file). */
  private readonly madeDirs = new Set<string>();
  /** Paths whose file was moved to a new path in this pull: their deletion is done. */
  private readonly movedAway = new Set<string>();
  /** Needed files the last pull could not bring, and why (logged, retried with back-off). */
  private stalled: { path: string; reason: string }[] = [];
  /** Files placed by the current pull (progress resets the back-off). */
  private placed = 0;
  /** Pulls in a row that left files behind without placing any. */
  private stalls = 0;
  /** Bytes fetched from peers, and files obtained from this disk instead (moves, copies). */
  readonly counters = { fetchedBytes: 0, fetchedFiles: 0, localCopies: 0, localMoves: 0 };

  private readonly local: LocalContent;

  constructor(private readonly deps: FolderSyncDeps) {
    this.local = new LocalContent(deps.db, deps.index, (folder, paths) => {
      // A peer asked for content the index places at these paths, but their files changed
      // since they were indexed: say so, and index them again so the next ask finds them.
      deps.log.warn(
        { folder, paths, reason: 'file changed since it was indexed' },
        'cannot serve folder content from its indexed path; rescanning it',
      );
      this.kick({ hints: paths });
    });
  }

  get id(): string {
    return this.deps.config.id;
  }

  get root(): string {
    return this.deps.config.root;
  }

  async start(): Promise<void> {
    const { config, log } = this.deps;
    try {
      await ensureMarker(config.root, config.id);
    } catch (error) {
      log.error(
        { folder: config.id, root: config.root, err: (error as Error).message },
        'folder paused',
      );
      this.state = 'paused';
    }
    this.timer = setInterval(() => {
      this.kick({ scan: true, pull: true });
      this.sweepTrash().catch((err: unknown) => {
        log.warn({ folder: config.id, err }, 'folder trash sweep failed');
      });
    }, this.deps.rescanIntervalMs ?? 30_000);
    this.timer.unref();
    this.kick({ scan: true, pull: true });
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    await this.watcher?.close();
    await this.running;
  }

  /** A file here with this content, for a peer to fetch (null: none). */
  /** The block list of a content this node has indexed (for a peer's changed-block transfer). */
  blocksFor(hash: string): BlockList | null {
    const row = this.deps.index.findByHash(this.id, hash);
    return row?.hash === hash && row.blocks !== null && row.blocks.length > 0
      ? { blockSize: row.blockSize, blocks: row.blocks }
      : null;
  }

  async contentFor(hash: string): Promise<string | null> {
    return (await this.local.find(this.id, this.root, hash))?.file ?? null;
  }

  /**
   * Scans and brings the disk up to date now; resolves once the folder is idle (nothing left
   * to do until something changes, or a retry of content not available yet comes due).
   */
  async syncNow(): Promise<void> {
    this.kick({ scan: true, pull: true });
    await this.whenIdle();
  }

  /** Resolves once the work asked for so far is done. */
  async whenIdle(): Promise<void> {
    while (this.running) await this.running;
  }

  /** New operations arrived: if some are for this folder, bring the disk up to date. */
  onRemoteChange(): void {
    this.kick({ pull: true });
  }

  status(): FolderStatus {
    const totals = this.deps.index.countAndBytes(this.id);
    const conflicts = (
      this.deps.db
        .prepare(
          "SELECT path FROM folder_files WHERE folder = ? AND deleted = 0 AND path LIKE '%.sync-conflict-%'",
        )
        .pluck()
        .all(this.id) as string[]
    ).filter(isConflictName).length;
    return {
      id: this.id,
      path: this.deps.config.root,
      state: this.state,
      files: totals.files,
      bytes: totals.bytes,
      needFiles: totals.needFiles,
      conflicts,
    };
  }

  private kick(work: { scan?: boolean; pull?: boolean; hints?: Iterable<string> }): void {
    if (this.closed) return;
    this.scanWanted ||= work.scan === true;
    for (const path of work.hints ?? []) this.hints.add(path);
    this.pullWanted ||= work.pull === true;
    this.running ??= this.loop().finally(() => {
      this.running = null;
    });
  }

  private async loop(): Promise<void> {
    while (!this.closed && (this.scanWanted || this.hints.size > 0 || this.pullWanted)) {
      try {
        await this.ensureAvailable();
        if (this.scanWanted || this.hints.size > 0) {
          const hints = this.scanWanted ? null : this.hints;
          this.scanWanted = false;
          this.hints = new Set();
          await this.lock.run(() => this.scan(hints));
        }
        if (this.pullWanted) {
          this.pullWanted = false;
          await this.lock.run(() => this.pull());
        }
        this.state = 'idle';
      } catch (error) {
        this.scanWanted = false;
        this.hints.clear();
        this.pullWanted = false;
        if (error instanceof FolderMissingError) {
          if (this.state !== 'paused') {
            this.deps.log.error(
              { folder: this.id, err: error.message },
              'folder paused: root or marker missing',
            );
          }
          this.state = 'paused';
          await this.watcher?.close();
          this.watcher = null;
        } else {
          this.deps.log.warn(
            { folder: this.id, err: (error as Error).message },
            'folder sync failed; will retry',
          );
        }
      }
    }
  }

  /** Checks root and marker; (re)starts the watcher once the folder is there. */
  private async ensureAvailable(): Promise<void> {
    const { root, id } = this.deps.config;
    await assertMarker(root, id);
    if (this.watcher === null) {
      this.isIgnored = await loadIgnore(root);
      this.watcher = await watchFolder({
        root,
        isIgnored: (p, d) => this.isIgnored(p, d),
        log: this.deps.log,
        onChanges: (paths) => {
          this.kick({ hints: paths });
        },
      });
      this.scanWanted = true;
    }
  }

  // ---- local changes -> operations ------------------------------------------------------

  /**
   * A full scan (`hints` null), or one limited to the directories holding the hinted paths:
   * each is listed, and only new directories below it are walked. More hints than
   * MAX_HINT_DIRS directories, or the root itself, make it a full scan.
   */
  private async scan(hints: ReadonlySet<string> | null): Promise<void> {
    this.state = 'scanning';
    const root = this.deps.config.root;
    this.isIgnored = await loadIgnore(root);
    const dirs = hints === null ? null : await hintedDirs(root, hints);
    let stillChanging = 0;
    for (const under of dirs ?? ['']) {
      const result = await scanFolder({
        root,
        folder: this.id,
        index: this.deps.index,
        isIgnored: this.isIgnored,
        log: this.deps.log,
        under,
        shallow: dirs !== null,
        onBatch: (changes) => {
          this.commitLocal(changes);
        },
      });
      stillChanging += result.stillChanging;
    }
    if (stillChanging > 0) {
      setTimeout(() => {
        // The same directories again (a file still being written is usually where it was);
        // `dir/.` hints the directory `dir` itself.
        this.kick(dirs === null ? { scan: true } : { hints: dirs.map((d) => `${d}/.`) });
      }, 500).unref();
    }
  }

  /**
   * One transaction per batch: the operations and the disk state they describe. A file that
   * holds a version this node knows is recorded as that version, not made a new one (see
   * `knownVersion`).
   */
  private commitLocal(all: readonly LocalChange[]): void {
    const { index, selfId, selfName } = this.deps;
    const known: FolderFileRow[] = [];
    const changes = all.filter((change) => {
      const row = this.knownVersion(change);
      if (row !== null) known.push(row);
      return row === null;
    });
    if (known.length > 0) {
      this.deps.db.transaction(() => {
        index.upsertMany(known);
        index.versions.doneApplying(
          this.id,
          known.map((r) => r.path),
        );
      })();
      if (known.some((r) => r.need)) this.kick({ pull: true });
    }
    const bodies: FilePut[] = [];
    for (const change of changes) {
      const current = index.get(this.id, change.path);
      bodies.push({
        kind: 'file.put',
        folder: this.id,
        path: change.path,
        entry: change.kind,
        deleted: change.deleted,
        hash: change.deleted || change.kind === 'dir' ? null : change.hash,
        size: change.deleted ? 0 : change.size,
        mtimeMs: change.mtimeMs,
        // Based on the version on disk, which may be older than the index's current one (a
        // remote version not applied yet): then this edit is concurrent with it, a conflict.
        vv: bumpVv((current?.need === true ? current.localVv : current?.vv) ?? {}, selfId),
        originName: selfName,
      });
    }
    this.deps.changes.commitMany(bodies, () => {
      const updated: FolderFileRow[] = [];
      changes.forEach((change, i) => {
        const row = index.get(this.id, change.path);
        if (!row) return;
        const body = bodies[i];
        const disk: FolderFileRow = {
          ...row,
          blockSize: change.blockSize,
          blocks: change.blocks,
          localSize: change.deleted ? null : change.size,
          localMtimeMs: change.deleted ? null : change.mtimeMs,
          localInode: change.deleted ? null : change.inode,
          localHash: change.deleted || change.kind === 'dir' ? null : change.hash,
          localVv: change.deleted ? null : (body?.vv ?? null),
        };
        // Usually our own version is now current; if a concurrent one won, the disk must follow.
        updated.push({ ...disk, need: diskDiffers(disk) });
      });
      index.upsertMany(updated);
    });
  }

  /**
   * The row to record when a found file is a version this node knows (null: a real local
   * change): the path's current version (same content), or a version a pull was writing there
   * when it was interrupted (same content and mtime, folder_applying). Without this, a file
   * renamed into place just before a crash was taken for a new edit based on the current
   * version, and beat a delete that had arrived meanwhile (issue 11, cause 2).
   */
  private knownVersion(change: LocalChange): FolderFileRow | null {
    if (change.deleted || change.kind !== 'file' || change.hash === null) return null;
    const row = this.deps.index.get(this.id, change.path);
    if (row === undefined) return null;
    let vv: FolderFileRow['vv'] | null = null;
    if (!row.deleted && row.kind === 'file' && row.hash === change.hash) vv = row.vv;
    else vv = this.deps.index.versions.applying(this.id, change.path, change.hash, change.mtimeMs);
    if (vv === null) return null;
    const disk: FolderFileRow = {
      ...row,
      // The block list describes the version's content: the file's when it is that content.
      blockSize: row.hash === change.hash ? change.blockSize : row.blockSize,
      blocks: row.hash === change.hash ? change.blocks : row.blocks,
      localSize: change.size,
      localMtimeMs: change.mtimeMs,
      localInode: change.inode,
      localHash: change.hash,
      localVv: vv,
    };
    return { ...disk, need: diskDiffers(disk) };
  }

  // ---- needed versions -> disk ----------------------------------------------------------

  private async pull(): Promise<void> {
    await this.sweepLinkedTmp();
    this.stalled = [];
    this.placed = 0;
    this.madeDirs.clear();
    this.movedAway.clear();
    let after = '';
    let deletions: FolderFileRow[] = [];
    for (;;) {
      const page = this.deps.index.needed(this.id, NEED_PAGE, after);
      if (page.length === 0) break;
      this.state = 'syncing';
      after = page[page.length - 1]?.path ?? after;
      // Directories first (parents before children), then files several at a time (their
      // fsyncs are committed together), deletions after everything else, children first, so
      // that a moved file can still be moved or copied from its old place.
      for (const row of page) {
        if (row.deleted) deletions.push(row);
        else if (row.kind === 'dir') await this.applyOne(row);
      }
      // One file per content at a time (they would share a temp file, named by hash so that a
      // transfer can resume): rounds of distinct contents; later rounds copy what the first
      // brought.
      let files = page.filter((r) => !r.deleted && r.kind === 'file');
      while (files.length > 0) {
        const seen = new Set<string | null>();
        const round = files.filter((r) => !seen.has(r.hash) && seen.add(r.hash));
        files = files.filter((r) => !round.includes(r));
        // Remembered before the first rename, forgotten with the records: after a crash in
        // between, the scan recognises these files as the versions being applied.
        this.deps.index.versions.addApplying(
          this.id,
          round.flatMap((r) =>
            r.hash === null ? [] : [{ path: r.path, hash: r.hash, mtimeMs: r.mtimeMs, vv: r.vv }],
          ),
        );
        await this.applyFiles(round);
        await this.flushRecords(round.map((r) => r.path));
      }
      if (deletions.length > 5000) {
        await this.applyDeletions(deletions);
        deletions = [];
      }
    }
    await this.applyDeletions(deletions);
    this.retryStalled();
  }

  /**
   * Files this pull could not bring (content nobody sent, a target that changed here): retried
   * with back-off (2 s doubling to 60 s while no file at all arrives), and said at warn level
   * with paths and reasons from the second pull in a row on: never a silent spin.
   */
  private retryStalled(): void {
    if (this.stalled.length === 0) {
      this.stalls = 0;
      return;
    }
    this.stalls = this.placed > 0 ? 1 : this.stalls + 1;
    const retryInMs = Math.min(60_000, 2000 * 2 ** Math.min(this.stalls - 1, 5));
    const detail = {
      folder: this.id,
      stalled: this.stalled.length,
      paths: this.stalled.slice(0, 10),
      attempt: this.stalls,
      retryInMs,
    };
    if (this.stalls >= 2)
      this.deps.log.warn(detail, 'folder files not brought up to date; retrying');
    else this.deps.log.debug(detail, 'folder content not available yet');
    setTimeout(() => {
      this.kick({ pull: true });
    }, retryInMs).unref();
  }

  private stall(row: FolderFileRow, reason: string): void {
    this.stalled.push({ path: row.path, reason });
  }

  private async applyDeletions(rows: FolderFileRow[]): Promise<void> {
    for (const row of rows.reverse()) {
      if (!this.movedAway.has(row.path)) await this.applyOne(row);
    }
    await this.flushRecords();
  }

  /** The target on disk for a remote path, or null (refused and logged) when it is unsafe. */
  private targetOf(row: FolderFileRow): string | null {
    const check = checkRelativePath(row.path);
    if (!check.ok || check.path !== row.path) {
      this.deps.log.warn(
        { folder: this.id, path: row.path, reason: check.ok ? 'not NFC' : check.reason },
        'remote path refused',
      );
      return null;
    }
    return joinInside(this.deps.config.root, row.path);
  }

  /** A directory or a deletion. */
  private async applyOne(row: FolderFileRow): Promise<void> {
    const target = this.targetOf(row);
    if (target === null) return;
    await assertMarker(this.deps.config.root, this.id);
    await this.guarded(row, async () => {
      if (!matchesIndexed(row, await diskState(target))) {
        // Changed here since it was indexed: the next scan makes it a version of its own.
        this.kick({ hints: [row.path] });
        return;
      }
      if (row.deleted) await this.remove(row, target);
      else await this.makeDir(row, target);
    });
  }

  /**
   * Brings files (distinct contents) to their needed version: content found on this disk is
   * moved or copied; small files come from a peer many per request, large ones one at a time
   * (resumable). Each is written to `.mosaic/tmp/`, verified, fsynced and renamed into place.
   */
  private async applyFiles(rows: readonly FolderFileRow[]): Promise<void> {
    if (rows.length === 0) return;
    await assertMarker(this.deps.config.root, this.id);
    const remote: Wanted[] = [];
    await Promise.all(
      rows.map((row) =>
        this.io.run(() =>
          this.guarded(row, async () => {
            const target = this.targetOf(row);
            if (target === null || row.hash === null) return;
            // Something indexed there must still be as indexed before content is fetched for
            // it (`place` checks again, and alone when nothing was there).
            const indexedThere = row.localInode !== null || row.localSize !== null;
            if (indexedThere && !matchesIndexed(row, await diskState(target))) {
              this.kick({ hints: [row.path] });
              return;
            }
            const wanted = { row, target, hash: row.hash };
            const tmp = this.tmpFor(row.hash);
            if (await this.fromThisDisk(row.hash, tmp)) await this.place(wanted, tmp, null);
            else remote.push(wanted);
          }),
        ),
      ),
    );
    const small = remote.filter((w) => w.row.size <= MAX_FRAMED_FILE_BYTES);
    for (let i = 0; i < small.length;) {
      let bytes = 0;
      let end = i;
      while (end < small.length && end - i < MAX_FRAMED_FILES && bytes < BATCH_BYTES) {
        bytes += small[end++]?.row.size ?? 0;
      }
      await this.fetchSmall(small.slice(i, end));
      i = end;
    }
    for (const wanted of remote.filter((w) => w.row.size > MAX_FRAMED_FILE_BYTES)) {
      await this.guarded(wanted.row, async () => {
        const tmp = this.tmpFor(wanted.hash);
        if (await this.fetchLarge(wanted, tmp)) {
          await this.place(wanted, tmp, null);
        } else {
          this.stall(wanted.row, 'no peer could send its content');
        }
      });
    }
  }

  /** Runs one file's work; what fails (a name this file system refuses...) is logged, not fatal. */
  private async guarded(row: FolderFileRow, work: () => Promise<void>): Promise<void> {
    try {
      await work();
    } catch (error) {
      if (error instanceof FolderMissingError) throw error;
      const code = (error as NodeJS.ErrnoException).code;
      this.deps.log.warn(
        { folder: this.id, path: row.path, code, err: (error as Error).message },
        'could not apply a change',
      );
    }
  }

  private tmpFor(hash: string): string {
    return join(folderTmpDir(this.deps.config.root), `${hash}.part`);
  }

  /**
   * Puts a verified temp file at the row's path, only over what was indexed there: a local
   * change wins the race and the next scan makes it a version of its own (issue 11, cause 3).
   * Everything that may wait is done first; then, with nothing awaited in between but the
   * file-system calls themselves:
   *   1. the target is checked against the index;
   *   2. it is moved aside into the trash (one rename), and what was moved is checked again: a
   *      save that landed after step 1 is in it, and is put back (or, if the path is taken
   *      again, kept beside it under a conflict name) for the scan to make it a version;
   *   3. the temp file is linked in without replacing anything (link fails if the path exists
   *      again), so a file created after step 2 also stays.
   * `written` is the temp file's final state when the caller already has it (saves a stat).
   */
  private async place(
    wanted: Wanted,
    tmp: string,
    written: { size: number; mtimeMs: number; ino: number } | null,
  ): Promise<void> {
    const { row, target, hash } = wanted;
    let info = written;
    if (info === null) {
      const mtime = mtimeSeconds(row.mtimeMs);
      await utimes(tmp, mtime, mtime);
      info = await diskState(tmp);
      if (info === null) throw new Error(`temp file gone: ${tmp}`);
    }
    await this.ensureParent(target);
    const indexedThere = row.localInode !== null || row.localSize !== null;
    const aside = indexedThere ? await this.trashSlot(row.path) : null;
    await this.deps.beforeReplace?.(row.path);
    // 1.
    const existing = await diskState(target);
    if (!matchesIndexed(row, existing)) {
      await this.lostRace(row, tmp, 'the file here changed since it was indexed; rescanning it');
      return;
    }
    // 2.
    if (existing?.isDirectory()) await rmdir(target);
    else if (existing && aside !== null) {
      await rename(target, aside);
      if (!matchesIndexed(row, await diskState(aside))) {
        await this.putBack(row, aside, target);
        await this.lostRace(row, tmp, 'saved here while being replaced; rescanning it');
        return;
      }
      if (row.localHash !== null) this.trashed.push({ hash: row.localHash, file: aside });
    }
    // 3.
    if (!(await linkNoReplace(tmp, target))) {
      await this.lostRace(row, tmp, 'created here while being replaced; rescanning it');
      return;
    }
    this.placed++;
    this.dirsToSync.add(dirname(target));
    this.record(row, info, hash);
  }

  private async lostRace(row: FolderFileRow, tmp: string, reason: string): Promise<void> {
    await rm(tmp, { force: true });
    this.stall(row, reason);
    this.kick({ hints: [row.path] });
  }

  /**
   * A local save was moved aside by mistake: back to its path, never over a newer file (then it
   * stays beside it, under a conflict name, and becomes a version of its own at the next scan).
   */
  private async putBack(row: FolderFileRow, aside: string, target: string): Promise<void> {
    if (await linkNoReplace(aside, target)) return;
    const copy = conflictName(row.path, Date.now(), this.deps.selfName, randomUUID().slice(0, 8));
    await rename(aside, joinInside(this.deps.config.root, copy));
    this.deps.log.warn(
      { folder: this.id, path: row.path, keptAs: copy },
      'a local save raced a pulled version and another save; kept beside it',
    );
  }

  /**
   * Temp files that are also linked into the folder (a crash between link and unlink in
   * `place`): removed, so a resumed transfer never writes into a placed file.
   */
  private async sweepLinkedTmp(): Promise<void> {
    const dir = folderTmpDir(this.deps.config.root);
    for (const name of await readdir(dir).catch(() => [] as string[])) {
      const file = join(dir, name);
      const info = await lstat(file).catch(() => null);
      if (info?.isFile() === true && info.nlink > 1) await rm(file, { force: true });
    }
  }

  private async ensureParent(target: string): Promise<void> {
    const parent = dirname(target);
    if (this.madeDirs.has(parent)) return;
    await mkdir(parent, { recursive: true });
    this.madeDirs.add(parent);
  }

  /**
   * Small files from peers, many per request. Each frame is verified as it arrives and written
   * while the next ones come in; what one peer lacks is asked of the next.
   */
  private async fetchSmall(group: readonly Wanted[]): Promise<void> {
    let pending = [...group];
    let answered = false;
    for (const peer of this.deps.sources()) {
      if (pending.length === 0) break;
      const byHash = new Map(pending.map((w) => [w.hash, w]));
      const lacking: Wanted[] = [];
      const inFlight = new Set<Promise<void>>();
      try {
        const frames = peer.folderContents(
          this.id,
          pending.map((w) => ({ hash: w.hash, size: w.row.size })),
        );
        for await (const frame of frames) {
          answered = true;
          const wanted = byHash.get(frame.hash);
          if (!wanted) continue;
          byHash.delete(frame.hash);
          if (frame.data === null) {
            lacking.push(wanted);
            continue;
          }
          const data = frame.data;
          const work = this.io
            .run(() => this.guarded(wanted.row, () => this.writeSmall(wanted, data)))
            .finally(() => inFlight.delete(work));
          inFlight.add(work);
          // Bounded memory: at most this many received files wait to be written.
          if (inFlight.size >= 64) await Promise.race(inFlight);
        }
      } catch (error) {
        this.deps.log.warn(
          { folder: this.id, peer: peer.baseUrl, err: (error as Error).message },
          'folder batch fetch failed',
        );
      }
      await Promise.all(inFlight);
      // Whatever this peer did not send (lacking, or cut off) is asked of the next one.
      pending = [...lacking, ...byHash.values()];
    }
    // Asked in a batch and refused by every peer that answered: ask once more, one file at a
    // time by the resumable route (another way to the same content, a bounded few per pull).
    const retried = answered ? pending.slice(0, SINGLE_RETRIES) : [];
    for (const wanted of retried) {
      await this.guarded(wanted.row, async () => {
        const tmp = this.tmpFor(wanted.hash);
        if (await this.fetchLarge(wanted, tmp)) await this.place(wanted, tmp, null);
        else this.stall(wanted.row, 'no peer could send its content (batch and single request)');
      });
    }
    for (const wanted of pending.slice(retried.length)) {
      this.stall(wanted.row, answered ? 'no peer has its content' : 'no peer answered');
    }
  }

  private async writeSmall(wanted: Wanted, data: Buffer): Promise<void> {
    if (createHash('sha256').update(data).digest('hex') !== wanted.hash) {
      this.deps.log.warn({ folder: this.id, path: wanted.row.path }, 'peer sent wrong content');
      this.stall(wanted.row, 'peer sent wrong content');
      return;
    }
    const tmp = this.tmpFor(wanted.hash);
    // A fresh inode: after a crash between link and unlink (place), the old temp file is the
    // placed file itself, and truncating it would truncate that.
    await rm(tmp, { force: true });
    const handle = await open(tmp, 'wx');
    let info;
    try {
      await handle.writeFile(data);
      const mtime = mtimeSeconds(wanted.row.mtimeMs);
      await handle.utimes(mtime, mtime);
      await handle.datasync();
      info = await handleDiskState(handle);
    } finally {
      await handle.close();
    }
    this.counters.fetchedBytes += data.length;
    this.counters.fetchedFiles++;
    await this.place(wanted, tmp, info);
  }

  /**
   * Content already on this disk: a file about to be deleted here (a move or rename elsewhere),
   * or one in the trash, is moved into `tmp`; otherwise a file with that content is copied.
   * What comes from the trash or a copy is verified.
   */
  private async fromThisDisk(hash: string, tmp: string): Promise<boolean> {
    const { config, index } = this.deps;
    const source = index.findByHash(this.id, hash);
    if (source?.deleted === true && source.need && !this.movedAway.has(source.path)) {
      const from = joinInside(config.root, source.path);
      const info = await diskState(from);
      if (info?.isFile() === true && matchesIndexed(source, info)) {
        this.movedAway.add(source.path);
        await rename(from, tmp);
        this.dirsToSync.add(dirname(from));
        this.record(source, null, null);
        this.counters.localMoves++;
        return true;
      }
    }
    const found = await this.local.find(this.id, config.root, hash);
    if (found === null) return false;
    if (found.trashed) {
      // Out of the trash rather than copied: the content lives on at its new path.
      try {
        await rename(found.file, tmp);
        if ((await hashOf(tmp)) === hash) {
          // Forgotten with the page's records (one transaction, not one fsync per file).
          this.untrashed.push(found.file);
          this.counters.localMoves++;
          return true;
        }
        await rename(tmp, found.file);
      } catch {
        // not usable after all: fetch it
      }
      return false;
    }
    try {
      await copyFile(found.file, tmp);
      await fsyncFile(tmp);
      if ((await hashOf(tmp)) === hash) {
        this.counters.localCopies++;
        return true;
      }
    } catch {
      // not usable after all: fetch it
    }
    await rm(tmp, { force: true });
    return false;
  }

  /**
   * A large file from a peer into `tmp`: only the blocks that neither an earlier attempt's temp
   * file nor the older version at the target already hold (large-transfer.ts).
   */
  private async fetchLarge(wanted: Wanted, tmp: string): Promise<boolean> {
    const { row, target, hash } = wanted;
    // The older version on disk seeds the temp file, if it is still what was indexed.
    const old = row.localHash !== null ? await diskState(target) : null;
    const seed = old?.isFile() === true && matchesIndexed(row, old) ? target : null;
    const file = { folder: this.id, hash, size: row.size };
    for (const peer of this.deps.sources()) {
      const resuming = existsSync(tmp);
      try {
        const result = await fetchLarge(peer, file, tmp, seed);
        this.counters.fetchedBytes += result.fetchedBytes;
        if (result.done) {
          this.counters.fetchedFiles++;
          if (result.firstFetchedAt > 0) {
            this.deps.log.info(
              {
                folder: this.id,
                hash,
                peer: peer.baseUrl,
                fetched: result.fetchedBytes,
                reused: row.size - result.fetchedBytes,
                resumedAt: resuming ? result.firstFetchedAt : undefined,
              },
              resuming ? 'folder fetch resumed and done' : 'folder fetch done: changed blocks only',
            );
          }
          return true;
        }
        await rm(tmp, { force: true });
      } catch (error) {
        this.deps.log.warn(
          { folder: this.id, peer: peer.baseUrl, err: (error as Error).message },
          'folder fetch failed',
        );
      }
    }
    return false;
  }

  private async remove(row: FolderFileRow, target: string): Promise<void> {
    const info = await diskState(target);
    if (info?.isDirectory()) {
      try {
        await rmdir(target);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOTEMPTY') return; // children first; retried
        throw error;
      }
    } else if (info) {
      // Moved aside, then checked: a save that landed since applyOne's check is put back.
      const aside = await this.trashSlot(row.path);
      await rename(target, aside);
      if (!matchesIndexed(row, await diskState(aside))) {
        await this.putBack(row, aside, target);
        this.stall(row, 'saved here while being deleted; rescanning it');
        this.kick({ hints: [row.path] });
        return;
      }
      if (row.localHash !== null) this.trashed.push({ hash: row.localHash, file: aside });
    }
    this.record(row, null, null);
  }

  private async makeDir(row: FolderFileRow, target: string): Promise<void> {
    const existing = await diskState(target);
    if (existing && !existing.isDirectory()) await this.trash(row.path, target, row.localHash);
    await mkdir(target, { recursive: true });
    this.madeDirs.add(target);
    this.record(row, await diskState(target), null);
  }

  /**
   * Removes trash older than the retention. Trash is kept in one directory per second of
   * deletion (`.mosaic/trash/YYYYMMDDTHHMMSS/`), so expiry is by directory name.
   */
  async sweepTrash(now = Date.now()): Promise<number> {
    const dir = folderTrashDir(this.deps.config.root);
    const retention = this.deps.trashRetentionMs ?? 30 * 24 * 3600 * 1000;
    let removed = 0;
    for (const name of await readdir(dir).catch(() => [] as string[])) {
      const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})$/.exec(name);
      if (!m) continue;
      const [y, mo, d, h, mi, se] = m.slice(1).map(Number) as [
        number,
        number,
        number,
        number,
        number,
        number,
      ];
      const at = Date.UTC(y, mo - 1, d, h, mi, se);
      if (now - at < retention) continue;
      await rm(join(dir, name), { recursive: true, force: true });
      this.deps.db
        .prepare("DELETE FROM folder_trash WHERE folder = ? AND file LIKE ? ESCAPE '\\'")
        .run(this.id, `${join(dir, name).replace(/[\\%_]/g, (c) => `\\${c}`)}/%`);
      removed++;
    }
    return removed;
  }

  private async trash(path: string, target: string, hash: string | null): Promise<void> {
    const file = await this.trashSlot(path);
    await rename(target, file);
    // Recorded with the page's other rows (one transaction), like the disk states.
    if (hash !== null) this.trashed.push({ hash, file });
  }

  /** A fresh trash path for `path` (its directory made): `.mosaic/trash/<time>/<path>.<id>`. */
  private async trashSlot(path: string): Promise<string> {
    const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '');
    const file = join(
      folderTrashDir(this.deps.config.root),
      stamp,
      `${path}.${randomUUID().slice(0, 8)}`,
    );
    await mkdir(dirname(file), { recursive: true });
    return file;
  }

  /** The disk now holds the row's version. */
  private record(
    row: FolderFileRow,
    info: { size: number; mtimeMs: number; ino: number } | null,
    hash: string | null,
  ): void {
    this.records.push({
      ...row,
      need: false,
      localSize: info && row.kind === 'file' ? info.size : info ? 0 : null,
      localMtimeMs: info ? Math.floor(info.mtimeMs) : null,
      localInode: info ? info.ino : null,
      localHash: hash,
      localVv: info ? row.vv : null,
    });
  }

  /**
   * Makes what was written durable, then records it: one fsync per directory touched and one
   * transaction per page, not per file (a crash in between leaves files the next scan finds
   * identical to their version, so they merge without a conflict).
   */
  private async flushRecords(applied: readonly string[] = []): Promise<void> {
    await this.deps.beforeRecord?.();
    const dirs = [...this.dirsToSync];
    this.dirsToSync.clear();
    await Promise.all(dirs.map((d) => fsyncDir(d).catch(() => undefined)));
    const rows = this.records;
    const trashed = this.trashed;
    const untrashed = this.untrashed;
    this.records = [];
    this.trashed = [];
    this.untrashed = [];
    const { db, index } = this.deps;
    const insert = db.prepare(
      'INSERT OR REPLACE INTO folder_trash (folder, hash, file, trashed_at) VALUES (?, ?, ?, ?)',
    );
    const forget = db.prepare('DELETE FROM folder_trash WHERE file = ?');
    db.transaction(() => {
      for (const file of untrashed) forget.run(file);
      for (const t of trashed) insert.run(this.id, t.hash, t.file, Date.now());
      index.upsertMany(rows.map((row) => this.onCurrentVersion(row)));
      index.versions.doneApplying(this.id, applied);
    })();
  }

  /**
   * A disk state recorded against the version it was written for. If a newer version of the
   * path arrived meanwhile (ops are received while a pull runs), that version stays, with this
   * disk state, and still needed if the disk does not hold it: a stale snapshot must never
   * overwrite it. Call inside the recording transaction.
   */
  private onCurrentVersion(recorded: FolderFileRow): FolderFileRow {
    const current = this.deps.index.get(this.id, recorded.path);
    if (current === undefined) return recorded;
    const same =
      current.hlc === recorded.hlc &&
      current.hash === recorded.hash &&
      current.deleted === recorded.deleted &&
      current.kind === recorded.kind;
    // Even the same version may have a wider vector now (a losing sibling arrived meanwhile).
    const disk: FolderFileRow = {
      ...current,
      ...(same ? { blockSize: recorded.blockSize, blocks: recorded.blocks } : {}),
      localSize: recorded.localSize,
      localMtimeMs: recorded.localMtimeMs,
      localInode: recorded.localInode,
      localHash: recorded.localHash,
      localVv: same && recorded.localVv !== null ? current.vv : recorded.localVv,
    };
    return { ...disk, need: diskDiffers(disk) };
  }
}

/**
 * The directories to scan for hinted paths: each path's parent, or the nearest ancestor that
 * is still a directory (a removed tree is judged from the directory that held it). Parents
 * come before their children. Null: too many, or the root itself — scan everything.
 */
async function hintedDirs(root: string, hints: ReadonlySet<string>): Promise<string[] | null> {
  const parents = new Set<string>();
  for (const path of hints) {
    if (path === '') return null;
    parents.add(parentOf(path));
    if (parents.size > MAX_HINT_DIRS) return null;
  }
  const dirs = new Set<string>();
  for (let dir of parents) {
    while (dir !== '') {
      const info = await lstat(join(root, ...dir.split('/'))).catch(() => null);
      if (info?.isDirectory() === true) break;
      dir = parentOf(dir);
    }
    if (dir === '' && !dirs.has('')) dirs.add('');
    else dirs.add(dir);
  }
  return [...dirs].sort();
}

function parentOf(path: string): string {
  const slash = path.lastIndexOf('/');
  return slash < 0 ? '' : path.slice(0, slash);
}

/** A file to bring to its needed version, at `target`. */
interface Wanted {
  readonly row: FolderFileRow;
  readonly target: string;
  readonly hash: string;
}

/**
 * Whether the disk (`info`, from lstat, null when nothing is there) still holds what the index
 * says was there when it was last scanned or written: only then may a remote change replace it.
 */
export function matchesIndexed(
  row: FolderFileRow,
  info: { size: number; mtimeMs: number; ino: number; isDirectory(): boolean } | null,
): boolean {
  if (row.localInode === null && row.localSize === null) return info === null || info.isDirectory();
  if (info === null) return false;
  if (row.kind === 'dir' && row.localHash === null) return info.isDirectory();
  return (
    info.size === row.localSize &&
    Math.floor(info.mtimeMs) === row.localMtimeMs &&
    info.ino === row.localInode
  );
}

/**
 * Puts `from` at `to` only if nothing is at `to` (a hard link fails with EEXIST), then removes
 * `from`; false when `to` was taken. On a file system without hard links: a rename right after a
 * check that `to` is free.
 */
async function linkNoReplace(from: string, to: string): Promise<boolean> {
  try {
    await link(from, to);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    if (!['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS', 'EXDEV', 'EMLINK'].includes(code ?? '')) {
      throw error;
    }
    if ((await diskState(to)) !== null) return false;
    await rename(from, to);
    return true;
  }
  await unlink(from);
  return true;
}

/** Half a millisecond up: seconds as a double must not round below the recorded millisecond. */
function mtimeSeconds(mtimeMs: number): number {
  return (mtimeMs + 0.5) / 1000;
}

async function hashOf(file: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(file), async (chunks: AsyncIterable<Buffer>) => {
    for await (const chunk of chunks) hash.update(chunk);
  });
  return hash.digest('hex');
}
