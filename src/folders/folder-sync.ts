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
import { createReadStream, createWriteStream } from 'node:fs';
import { copyFile, lstat, mkdir, readdir, rename, rm, rmdir, stat, utimes } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Logger } from 'pino';
import type { Db } from '../db/database.js';
import { fsyncDir, fsyncFile } from '../core/fsync.js';
import { Limiter } from '../core/limiter.js';
import type { ChangeLog } from '../oplog/change-log.js';
import type { FilePut } from '../oplog/op.js';
import type { PeerClient } from '../replication/peer-client.js';
import { bumpVv, checkRelativePath, isConflictName, joinInside } from './core/index.js';
import type { FolderConfig } from './folder-config.js';
import type { FolderFileRow, FolderIndexRepository } from './folder-index.repository.js';
import { diskDiffers } from './folder-apply.js';
import { loadIgnore, type IsIgnored } from './ignore.js';
import {
  assertMarker,
  ensureMarker,
  folderTmpDir,
  folderTrashDir,
  FolderMissingError,
} from './marker.js';
import { scanFolder, type LocalChange } from './scanner.js';
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
  readonly sources: () => PeerClient[];
  readonly log: Logger;
  readonly rescanIntervalMs?: number;
  /** How long replaced and deleted files stay in `.mosaic/trash/` (default 30 days). */
  readonly trashRetentionMs?: number;
}

const NEED_PAGE = 200;

export class FolderSync {
  state: FolderState = 'paused';
  private readonly lock = new Limiter(1);
  private watcher: FolderWatcher | null = null;
  private isIgnored: IsIgnored = () => false;
  private timer: NodeJS.Timeout | null = null;
  private closed = false;
  private scanWanted = false;
  private pullWanted = false;
  private running: Promise<void> | null = null;
  /** Disk states written but not recorded yet, and directories to fsync (see flushRecords). */
  private records: FolderFileRow[] = [];
  private trashed: { hash: string; file: string }[] = [];
  private readonly dirsToSync = new Set<string>();
  private readonly io = new Limiter(8);
  /** Needed files no source could provide in the last pull. */
  private missing = 0;
  /** Bytes fetched from peers, and files obtained from this disk instead (moves, copies). */
  readonly counters = { fetchedBytes: 0, fetchedFiles: 0, localCopies: 0 };

  constructor(private readonly deps: FolderSyncDeps) {}

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

  private kick(work: { scan?: boolean; pull?: boolean }): void {
    if (this.closed) return;
    this.scanWanted ||= work.scan === true;
    this.pullWanted ||= work.pull === true;
    this.running ??= this.loop().finally(() => {
      this.running = null;
    });
  }

  private async loop(): Promise<void> {
    while (!this.closed && (this.scanWanted || this.pullWanted)) {
      try {
        await this.ensureAvailable();
        if (this.scanWanted) {
          this.scanWanted = false;
          await this.lock.run(() => this.scan());
        }
        if (this.pullWanted) {
          this.pullWanted = false;
          await this.lock.run(() => this.pull());
        }
        this.state = 'idle';
      } catch (error) {
        this.scanWanted = false;
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
        onChanges: () => {
          this.kick({ scan: true });
        },
      });
      this.scanWanted = true;
    }
  }

  // ---- local changes -> operations ------------------------------------------------------

  private async scan(): Promise<void> {
    this.state = 'scanning';
    this.isIgnored = await loadIgnore(this.deps.config.root);
    const result = await scanFolder({
      root: this.deps.config.root,
      folder: this.id,
      index: this.deps.index,
      isIgnored: this.isIgnored,
      log: this.deps.log,
      onBatch: (changes) => {
        this.commitLocal(changes);
      },
    });
    if (result.stillChanging > 0) {
      setTimeout(() => {
        this.kick({ scan: true });
      }, 500).unref();
    }
  }

  /** One transaction per batch: the operations and the disk state they describe. */
  private commitLocal(changes: readonly LocalChange[]): void {
    const { index, selfId, selfName } = this.deps;
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

  // ---- needed versions -> disk ----------------------------------------------------------

  private async pull(): Promise<void> {
    this.missing = 0;
    let after = '';
    let deletions: FolderFileRow[] = [];
    for (;;) {
      const page = this.deps.index.needed(this.id, NEED_PAGE, after);
      if (page.length === 0) break;
      this.state = 'syncing';
      after = page[page.length - 1]?.path ?? after;
      // Directories first (parents before children), then files several at a time (their
      // fsyncs are committed together), deletions after everything else, children first, so
      // that a moved file can still be copied from its old place.
      for (const row of page) {
        if (row.deleted) deletions.push(row);
        else if (row.kind === 'dir') await this.applyOne(row);
      }
      // One file per content at a time (they share a temp file); the others then copy it.
      const files = page.filter((r) => !r.deleted && r.kind === 'file');
      const seen = new Set<string | null>();
      const first = files.filter((r) => !seen.has(r.hash) && seen.add(r.hash));
      const again = files.filter((r) => !first.includes(r));
      for (const batch of [first, again]) {
        await Promise.all(batch.map((r) => this.io.run(() => this.applyOne(r))));
        await this.flushRecords();
      }
      if (deletions.length > 5000) {
        await this.applyDeletions(deletions);
        deletions = [];
      }
    }
    await this.applyDeletions(deletions);
    if (this.missing > 0) {
      // Content nobody could give us yet (its holder may be coming back): try again soon.
      this.deps.log.debug({ folder: this.id, missing: this.missing }, 'content not available yet');
      setTimeout(() => {
        this.kick({ pull: true });
      }, 2000).unref();
    }
  }

  private async applyDeletions(rows: FolderFileRow[]): Promise<void> {
    for (const row of rows.reverse()) await this.applyOne(row);
    await this.flushRecords();
  }

  private async applyOne(row: FolderFileRow): Promise<void> {
    const { config, log } = this.deps;
    const check = checkRelativePath(row.path);
    if (!check.ok || check.path !== row.path) {
      log.warn(
        { folder: this.id, path: row.path, reason: check.ok ? 'not NFC' : check.reason },
        'remote path refused',
      );
      return;
    }
    await assertMarker(config.root, this.id);
    const target = joinInside(config.root, row.path);
    try {
      if (!(await this.unchangedOnDisk(row, target))) {
        // Changed here since it was indexed: the next scan makes it a version of its own.
        this.kick({ scan: true });
        return;
      }
      if (row.deleted) await this.remove(row, target);
      else if (row.kind === 'dir') await this.makeDir(row, target);
      else await this.writeFile(row, target);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      // Names this file system cannot hold are reported, not fatal.
      log.warn(
        { folder: this.id, path: row.path, code, err: (error as Error).message },
        'could not apply a change',
      );
    }
  }

  private async unchangedOnDisk(row: FolderFileRow, target: string): Promise<boolean> {
    const info = await lstat(target).catch(() => null);
    if (row.localInode === null && row.localSize === null)
      return info === null || info.isDirectory();
    if (info === null) return false;
    if (row.kind === 'dir' && row.localHash === null) return info.isDirectory();
    return (
      info.size === row.localSize &&
      Math.floor(info.mtimeMs) === row.localMtimeMs &&
      info.ino === row.localInode
    );
  }

  private async remove(row: FolderFileRow, target: string): Promise<void> {
    const info = await lstat(target).catch(() => null);
    if (info?.isDirectory()) {
      try {
        await rmdir(target);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOTEMPTY') return; // children first; retried
        throw error;
      }
    } else if (info) {
      await this.trash(row.path, target, row.localHash);
    }
    this.record(row, null, null);
  }

  private async makeDir(row: FolderFileRow, target: string): Promise<void> {
    const existing = await lstat(target).catch(() => null);
    if (existing && !existing.isDirectory()) await this.trash(row.path, target, row.localHash);
    await mkdir(target, { recursive: true });
    this.record(row, await stat(target), null);
  }

  private async writeFile(row: FolderFileRow, target: string): Promise<void> {
    const hash = row.hash;
    if (hash === null) return;
    const tmp = join(folderTmpDir(this.deps.config.root), `${hash}.part`);
    const obtained = (await this.copyLocal(hash, tmp)) || (await this.fetch(hash, row.size, tmp));
    if (!obtained) {
      this.missing++;
      return;
    }
    await mkdir(dirname(target), { recursive: true });
    if (!(await this.unchangedOnDisk(row, target))) {
      await rm(tmp, { force: true });
      this.kick({ scan: true });
      return;
    }
    const existing = await lstat(target).catch(() => null);
    if (existing?.isDirectory()) await rmdir(target);
    else if (existing) await this.trash(row.path, target, row.localHash);
    // Half a millisecond up: seconds as a double must not round below the recorded millisecond.
    const mtime = (row.mtimeMs + 0.5) / 1000;
    await utimes(tmp, mtime, mtime);
    await rename(tmp, target);
    this.dirsToSync.add(dirname(target));
    this.record(row, await stat(target), hash);
  }

  /** Content already on this disk (another path, or the trash): copied, then verified. */
  private async copyLocal(hash: string, tmp: string): Promise<boolean> {
    const { config, index, db } = this.deps;
    const candidates: string[] = [];
    const row = index.findByHash(this.id, hash);
    if (row) candidates.push(joinInside(config.root, row.path));
    const trashed = db
      .prepare('SELECT file FROM folder_trash WHERE folder = ? AND hash = ? LIMIT 3')
      .pluck()
      .all(this.id, hash) as string[];
    candidates.push(...trashed);
    for (const source of candidates) {
      try {
        await copyFile(source, tmp);
        await fsyncFile(tmp);
        if ((await hashOf(tmp)) === hash) {
          this.counters.localCopies++;
          return true;
        }
      } catch {
        // try the next one
      }
      await rm(tmp, { force: true });
    }
    return false;
  }

  /** Streams the content from a peer into `tmp`, resuming what an earlier attempt left. */
  private async fetch(hash: string, size: number, tmp: string): Promise<boolean> {
    for (const peer of this.deps.sources()) {
      const have = (await stat(tmp).catch(() => null))?.size ?? 0;
      try {
        const res = await peer.folderContent(this.id, hash, have > size ? 0 : have);
        if (!res) continue;
        await receive(res.body, tmp, res.start, size);
        if ((await hashOf(tmp)) === hash) {
          this.counters.fetchedBytes += size - res.start;
          this.counters.fetchedFiles++;
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
    const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '');
    const file = join(
      folderTrashDir(this.deps.config.root),
      stamp,
      `${path}.${randomUUID().slice(0, 8)}`,
    );
    await mkdir(dirname(file), { recursive: true });
    await rename(target, file);
    // Recorded with the page's other rows (one transaction), like the disk states.
    if (hash !== null) this.trashed.push({ hash, file });
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
  private async flushRecords(): Promise<void> {
    const dirs = [...this.dirsToSync];
    this.dirsToSync.clear();
    await Promise.all(dirs.map((d) => fsyncDir(d).catch(() => undefined)));
    const rows = this.records;
    const trashed = this.trashed;
    this.records = [];
    this.trashed = [];
    const { db, index } = this.deps;
    const insert = db.prepare(
      'INSERT OR REPLACE INTO folder_trash (folder, hash, file, trashed_at) VALUES (?, ?, ?, ?)',
    );
    db.transaction(() => {
      for (const t of trashed) insert.run(this.id, t.hash, t.file, Date.now());
      index.upsertMany(rows);
    })();
  }
}

async function receive(body: Readable, tmp: string, start: number, size: number): Promise<void> {
  let received = start;
  const meter = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      received += chunk.length;
      if (received > size) done(new Error('longer than announced'));
      else done(null, chunk);
    },
  });
  await pipeline(
    body,
    meter,
    createWriteStream(tmp, start > 0 ? { flags: 'r+', start, flush: true } : { flush: true }),
  );
}

async function hashOf(file: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(file), async (chunks: AsyncIterable<Buffer>) => {
    for await (const chunk of chunks) hash.update(chunk);
  });
  return hash.digest('hex');
}
