/**
 * One synced folder on this node: finds local changes (watcher, start-up scan, periodic rescan)
 * and turns them into operations; brings the disk to the versions the index says it needs
 * (fetching content by hash from this disk, its trash, or a peer), safely: that half is
 * folder-pull.ts.
 *
 * Safety rules (design.md, "Folder sync"):
 * - remote content lands in `.mosaic/tmp/` first, is hash-verified, and replaces the target by
 *   an atomic rename only if the target has not changed since it was indexed (otherwise the
 *   local change wins the race and becomes a version of its own at the next scan);
 * - replaced and deleted files go to `.mosaic/trash/<time>/<path>`, never unlinked;
 * - no root or no marker: the folder is paused, nothing is scanned, nothing written;
 * - scans and applies never overlap (one lock per folder).
 */
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { ChangeLog } from '../oplog/change-log.js';
import type { FilePut } from '../oplog/op.js';
import { Limiter } from '../core/limiter.js';
import { bumpVv, isConflictName } from './core/index.js';
import type { BlockList } from './blocks.js';
import type { ContentSource } from './content-source.js';
import { diskDiffers } from './folder-apply.js';
import type { FolderConfig } from './folder-config.js';
import type { FolderFileRow, FolderIndexRepository } from './folder-index.repository.js';
import { FolderPull, type PullCounters } from './folder-pull.js';
import { APPLYING_DIR } from './folder-versions.repository.js';
import { loadIgnore, type IsIgnored } from './ignore.js';
import { LocalContent } from './local-content.js';
import { realDirPrefix } from './inside-folder.js';
import { RecentContent } from './recent-content.js';
import { assertMarker, ensureMarker, folderTrashDir, FolderMissingError } from './marker.js';
import { scanFolder, type LocalChange } from './scanner.js';
import { span } from './trace.js';
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

/** More directories than this to look at, and a hinted scan becomes a full one. */
const MAX_HINT_DIRS = 256;

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
  /** Scans or pulls in a row that failed (not for a missing folder): the retry's back-off. */
  private failures = 0;
  private running: Promise<void> | null = null;
  private readonly local: LocalContent;
  private readonly puller: FolderPull;
  /** Small files just hashed by a scan, served to peers without reading them again. */
  private readonly recent = new RecentContent();

  constructor(private readonly deps: FolderSyncDeps) {
    this.local = new LocalContent(deps.index, (folder, paths) => {
      // A peer asked for content the index places at these paths, but their files changed
      // since they were indexed: say so, and index them again so the next ask finds them.
      deps.log.warn(
        { folder, paths, reason: 'file changed since it was indexed' },
        'cannot serve folder content from its indexed path; rescanning it',
      );
      this.kick({ hints: paths });
    });
    this.puller = new FolderPull(deps, this.local, this);
  }

  /** Bytes fetched from peers, and files obtained from this disk instead (moves, copies). */
  get counters(): PullCounters {
    return this.puller.counters;
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
    this.recent.clear();
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

  /** For a batch of small files: the bytes when a scan just hashed them, else a file (or null). */
  async smallContentFor(hash: string): Promise<string | Buffer | null> {
    return this.recent.get(hash) ?? this.contentFor(hash);
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
    const conflicts = this.deps.index.conflictCandidates(this.id).filter(isConflictName).length;
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

  kick(work: { scan?: boolean; pull?: boolean; hints?: Iterable<string> }): void {
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
          await this.lock.run(async () => {
            const news = hints === null ? null : await this.puller.notOwnWrites(hints);
            if (news === null || news.size > 0) await this.scan(news);
          });
        }
        if (this.pullWanted) {
          this.pullWanted = false;
          await this.lock.run(() => this.puller.pull());
        }
        this.state = 'idle';
        this.failures = 0;
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
          // What was asked is dropped above: all of it again soon (a full scan, since the hints
          // are gone), not only at the next periodic rescan. 1 s, doubling to 60 s.
          this.failures++;
          const retryInMs = Math.min(60_000, 1000 * 2 ** Math.min(this.failures - 1, 6));
          this.deps.log.warn(
            { folder: this.id, err: (error as Error).message, retryInMs },
            'folder sync failed; will retry',
          );
          setTimeout(() => {
            this.kick({ scan: true, pull: true });
          }, retryInMs).unref();
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
    const started = performance.now();
    let stillChanging = 0;
    const totals = { files: 0, hashed: 0, changed: 0, deleted: 0 };
    for (const under of dirs ?? ['']) {
      const end = span(dirs === null ? 'scan.full' : 'scan.hinted');
      const result = await scanFolder({
        root,
        folder: this.id,
        index: this.deps.index,
        isIgnored: this.isIgnored,
        log: this.deps.log,
        under,
        shallow: dirs !== null,
        keep: this.recent,
        onBatch: (changes) => this.commitLocal(changes),
      });
      end();
      stillChanging += result.stillChanging;
      totals.files += result.files;
      totals.hashed += result.hashed;
      totals.changed += result.changed;
      totals.deleted += result.deleted;
    }
    // A full scan (start-up, every 30 s): what it cost, and that unchanged files were not read.
    const ms = Math.round(performance.now() - started);
    this.deps.log[dirs === null ? 'info' : 'debug'](
      { folder: this.id, full: dirs === null, ...totals, stillChanging, ms },
      'folder scanned',
    );
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
  private async commitLocal(all: readonly LocalChange[]): Promise<void> {
    const end = span('scan.commit', all.length);
    try {
      await this.commitChanges(all);
    } finally {
      end();
    }
  }

  private async commitChanges(all: readonly LocalChange[]): Promise<void> {
    const { index, selfId, selfName } = this.deps;
    const known: FolderFileRow[] = [];
    const changes = all.filter((change) => {
      const row = this.knownVersion(change);
      if (row !== null) known.push(row);
      return row === null;
    });
    if (known.length > 0) {
      await index.transaction(() => {
        index.upsertMany(known);
        index.versions.doneApplying(
          this.id,
          known.map((r) => r.path),
        );
      });
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
    const result = { behind: false };
    const ops = await this.deps.changes.commitMany(bodies, () => {
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
      result.behind = updated.some((r) => r.need);
    });
    // A concurrent version won (the disk must follow), or a conflict copy is to be written.
    if (result.behind || ops.length > bodies.length) this.kick({ pull: true });
  }

  /**
   * The row to record when a found file is a version this node knows (null: a real local
   * change): the path's current version (same content), or a version a pull was writing there
   * when it was interrupted (same content and mtime, folder_applying; for a directory, that a
   * pull was making it). Without this, a file
   * renamed into place just before a crash was taken for a new edit based on the current
   * version, and beat a delete that had arrived meanwhile (issue 11, cause 2).
   */
  private knownVersion(change: LocalChange): FolderFileRow | null {
    if (change.deleted) return null;
    const row = this.deps.index.get(this.id, change.path);
    if (row === undefined) return null;
    const { versions } = this.deps.index;
    const live = !row.deleted && row.kind === change.kind;
    let vv: FolderFileRow['vv'] | null;
    if (change.kind === 'dir') {
      vv = live ? row.vv : versions.applying(this.id, change.path, APPLYING_DIR, 0);
    } else if (change.hash === null) {
      return null;
    } else {
      vv =
        live && row.hash === change.hash
          ? row.vv
          : versions.applying(this.id, change.path, change.hash, change.mtimeMs);
    }
    if (vv === null) return null;
    const same = change.kind === 'file' && row.hash === change.hash;
    const disk: FolderFileRow = {
      ...row,
      // The block list describes the version's content: the file's when it is that content.
      blockSize: same ? change.blockSize : row.blockSize,
      blocks: same ? change.blocks : row.blocks,
      localSize: change.size,
      localMtimeMs: change.mtimeMs,
      localInode: change.inode,
      localHash: change.kind === 'dir' ? null : change.hash,
      localVv: vv,
    };
    return { ...disk, need: diskDiffers(disk) };
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
      await this.deps.index.exclusive(() => {
        this.deps.index.trash.forgetUnder(this.id, join(dir, name));
      });
      removed++;
    }
    return removed;
  }
}

/**
 * The directories to scan for hinted paths: each path's parent, or the nearest ancestor that
 * is still a directory (a removed tree is judged from the directory that held it). Parents
 * come before their children. Null: too many, or the root itself — scan everything.
 */
export async function hintedDirs(
  root: string,
  hints: ReadonlySet<string>,
): Promise<string[] | null> {
  const parents = new Set<string>();
  for (const path of hints) {
    if (path === '') return null;
    parents.add(parentOf(path));
    if (parents.size > MAX_HINT_DIRS) return null;
  }
  const dirs = new Set<string>();
  for (const parent of parents) {
    // Reached through real directories only: a hint under a symlink (`out -> /etc`, a refused
    // remote path `out/x`) must never make the scanner walk and index the link's target.
    const dir = realDirPrefix(root, parent);
    if (dir === '' && !dirs.has('')) dirs.add('');
    else dirs.add(dir);
  }
  return [...dirs].sort();
}

function parentOf(path: string): string {
  const slash = path.lastIndexOf('/');
  return slash < 0 ? '' : path.slice(0, slash);
}
