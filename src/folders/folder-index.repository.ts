import type { LocalSqlite } from '../storage/metadata/dialect.js';
import { FolderCopiesRepository } from './folder-copies.repository.js';
import { FolderTrashRepository } from './folder-trash.repository.js';
import { FolderVersionsRepository } from './folder-versions.repository.js';
import {
  COLUMNS,
  DISK_STATE_UPDATE,
  diskStateParams,
  fromDb,
  SCAN_COLUMNS,
  scanRow,
  toDb,
  type DbRow,
  type DiskRecord,
  type FolderFileRow,
  type FolderTotals,
  type ScanDbRow,
  type ScannedState,
  type ScanRow,
} from './folder-rows.js';

// The row types live with their mapping (folder-rows.ts); importers keep this module's names.
export type {
  DiskCopy,
  DiskRecord,
  FileKind,
  FileVersionVector,
  FolderFileRow,
  FolderTotals,
  ScannedState,
  ScanRow,
} from './folder-rows.js';

/**
 * The index of synced folders (table folder_files). A plain adapter: it stores what it is given
 * and decides nothing about versions. Its rows' columns and mappings: folder-rows.ts.
 */
export class FolderIndexRepository {
  private readonly getStmt;
  private readonly getManyStmt;
  private readonly upsertStmt;
  private readonly iterateStmt;
  private readonly pageStmt;
  private readonly pageBeforeStmt;
  private readonly totalsStmt;
  private readonly neededStmt;
  private readonly conflictStmt;
  private readonly diskStateStmt;
  private readonly scannedStateStmt;
  private readonly upsertBatch: (rows: readonly FolderFileRow[]) => void;
  /**
   * Writes to `folder_files` so far, and the totals and conflict candidates per folder as of a
   * given count: a status asked again before anything changed (the web app and the benches
   * poll it; `/metrics` asks it several times) does not count 100 000 rows again.
   */
  private writes = 0;
  private readonly cached = new Map<
    string,
    { writes: string; totals?: FolderTotals; conflicts?: string[] }
  >();
  /** The siblings of conflicting paths and the versions a pull is writing (migration 11). */
  readonly versions: FolderVersionsRepository;

  /** Files of the folders' trash directories, by content. */
  readonly trash: FolderTrashRepository;

  /** Where a content is on this disk: the paths whose disk state holds it, and the trash. */
  readonly copies: FolderCopiesRepository;

  /**
   * Synchronous, on the SQLite store's one connection (`local`): folders stay on one machine,
   * and the scanner and the puller read rows one path at a time. Call a method that writes
   * either inside a ChangeLog transaction (which holds the connection) or inside `exclusive`,
   * never bare: a bare write could slip into another caller's open transaction.
   */
  constructor(private readonly local: LocalSqlite) {
    const db = local.database;
    this.versions = new FolderVersionsRepository(db);
    this.trash = new FolderTrashRepository(db);
    this.copies = new FolderCopiesRepository(db);
    this.getStmt = db.prepare(`SELECT ${COLUMNS} FROM folder_files WHERE folder = ? AND path = ?`);
    // Paths given as a JSON array: one statement (one read transaction) for a scan's batch.
    this.getManyStmt = db.prepare(
      `SELECT ${COLUMNS} FROM folder_files
       WHERE folder = ? AND path IN (SELECT value FROM json_each(?))`,
    );
    this.upsertStmt = db.prepare(
      `INSERT INTO folder_files (${COLUMNS})
       VALUES (@folder, @path, @kind, @deleted, @hash, @size, @mtime_ms, @block_size, @blocks,
               @vv, @hlc, @origin, @origin_name, @need, @local_size, @local_mtime_ms, @local_inode,
               @local_hash, @local_vv)
       ON CONFLICT (folder, path) DO UPDATE SET
         kind = excluded.kind, deleted = excluded.deleted, hash = excluded.hash,
         size = excluded.size, mtime_ms = excluded.mtime_ms, block_size = excluded.block_size,
         blocks = excluded.blocks, vv = excluded.vv, hlc = excluded.hlc, origin = excluded.origin,
         origin_name = excluded.origin_name, need = excluded.need,
         local_size = excluded.local_size, local_mtime_ms = excluded.local_mtime_ms,
         local_inode = excluded.local_inode, local_hash = excluded.local_hash,
         local_vv = excluded.local_vv`,
    );
    this.iterateStmt = db.prepare(
      `SELECT ${COLUMNS} FROM folder_files WHERE folder = ? ORDER BY path`,
    );
    this.pageStmt = db
      .prepare(
        `SELECT ${SCAN_COLUMNS} FROM folder_files WHERE folder = ? AND path > ? ORDER BY path LIMIT ?`,
      )
      .raw(true);
    this.pageBeforeStmt = db
      .prepare(
        `SELECT ${SCAN_COLUMNS} FROM folder_files
       WHERE folder = ? AND path > ? AND path < ? ORDER BY path LIMIT ?`,
      )
      .raw(true);
    this.totalsStmt = db.prepare(
      `SELECT
         COALESCE(SUM(kind = 'file'), 0) AS files,
         COALESCE(SUM(kind = 'dir'), 0) AS dirs,
         COALESCE(SUM(CASE WHEN kind = 'file' THEN size END), 0) AS bytes,
         COALESCE(SUM(kind = 'file' AND need = 1), 0) AS needFiles,
         COALESCE(SUM(CASE WHEN kind = 'file' AND need = 1 THEN size END), 0) AS needBytes
       FROM folder_files WHERE folder = ? AND deleted = 0`,
    );
    this.neededStmt = db.prepare(
      `SELECT ${COLUMNS} FROM folder_files
       WHERE folder = ? AND need = 1 AND path > ? ORDER BY path LIMIT ?`,
    );
    this.conflictStmt = db
      .prepare(
        "SELECT path FROM folder_files WHERE folder = ? AND deleted = 0 AND path LIKE '%.sync-conflict-%'",
      )
      .pluck();
    this.diskStateStmt = db.prepare(DISK_STATE_UPDATE);
    this.scannedStateStmt = db.prepare(`${DISK_STATE_UPDATE} RETURNING need`).pluck();
    this.upsertBatch = db.transaction((rows: readonly FolderFileRow[]) => {
      for (const row of rows) this.upsertStmt.run(toDb(row));
    });
  }

  /** Runs `fn` holding the connection, in turn with the metadata store's transactions. */
  exclusive<T>(fn: () => T): Promise<T> {
    return this.local.exclusive(fn);
  }

  /**
   * `exclusive`, with `fn`'s writes in one SQLite transaction: one commit (one fsync of the
   * WAL) for all of them, and all or none after a crash. The writers nest as savepoints.
   */
  transaction<T>(fn: () => T): Promise<T> {
    return this.local.exclusive((database) => database.transaction(fn)());
  }

  get(folder: string, path: string): FolderFileRow | undefined {
    const row = this.getStmt.get(folder, path) as DbRow | undefined;
    return row === undefined ? undefined : fromDb(row);
  }

  /**
   * `get` of many paths in one statement, by path; a path without a row is absent. A scan's
   * batch of a thousand new files was a thousand statements, each its own read transaction
   * (two lock calls on the WAL's index each): docs/benchmarks.md, issue 16, 2026-12-06.
   */
  getMany(folder: string, paths: readonly string[]): Map<string, FolderFileRow> {
    const out = new Map<string, FolderFileRow>();
    if (paths.length === 0) return out;
    for (const row of this.getManyStmt.all(folder, JSON.stringify(paths)) as DbRow[]) {
      out.set(row.path, fromDb(row));
    }
    return out;
  }

  /**
   * Inserts or replaces rows, all in one transaction (nested in the caller's, if any, as a
   * savepoint). Callers pass batches — the scanner's are ~1000 rows — never one row per call in
   * a loop: a transaction per file would make a first scan of a large folder crawl.
   */
  upsertMany(rows: readonly FolderFileRow[]): void {
    if (rows.length === 0) return;
    this.writes++;
    this.upsertBatch(rows);
  }

  /**
   * Inserts or replaces one row: one statement, atomic by itself, so no savepoint around it
   * (an operation applied inside the transaction that logs it: folder-apply.ts).
   */
  upsert(row: FolderFileRow): void {
    this.writes++;
    this.upsertStmt.run(toDb(row));
  }

  /**
   * Records what a pull wrote (WriteRecords.flush): for each, the disk state now at its path,
   * written for `row`'s version. The path's current version stays (a newer one may have arrived
   * meanwhile), still needed if the disk does not hold it; the same version also takes the
   * row's block list, and its vector as the disk's. One UPDATE per path, in SQL: no row read
   * back and rebuilt per file (docs/benchmarks.md, "Memory, fourth pass"). A path gone from the
   * index meanwhile gets the written row back. Call inside a transaction.
   */
  recordDiskStates(written: readonly DiskRecord[]): void {
    if (written.length === 0) return;
    this.writes++;
    for (const w of written) {
      const { row } = w;
      const changed = this.diskStateStmt.run(diskStateParams(row, w));
      if (changed.changes === 0) {
        this.upsertStmt.run(
          toDb({
            ...row,
            need: false,
            localSize: w.localSize,
            localMtimeMs: w.localMtimeMs,
            localInode: w.localInode,
            localHash: w.localHash,
            localVv: w.localInode === null ? null : row.vv,
          }),
        );
      }
    }
  }

  /**
   * Records what a scan found on disk for this node's own new versions (LocalChanges), in the
   * transaction that logs them: `recordDiskStates`' UPDATE, with the version as logged and the
   * scan's block list (kept only while that version is the path's current one). No row is read
   * back, rebuilt and replaced per file, and a path without a row (its operation was refused)
   * gets none. Returns how many of the paths are still needed: a concurrent version won there,
   * so the disk must follow. Call inside a transaction.
   */
  recordScannedStates(found: readonly ScannedState[]): number {
    if (found.length === 0) return 0;
    this.writes++;
    let needed = 0;
    for (const f of found) {
      const need = this.scannedStateStmt.get(diskStateParams(f.version, f)) as number | undefined;
      if (need === 1) needed++;
    }
    return needed;
  }

  /**
   * Every row of the folder in path order (SQLite's binary order: UTF-8 bytes), one at a time.
   * While the generator is open the connection cannot write: consume it without awaiting other
   * database work in between (or use `page` for that).
   */
  *iterate(folder: string): Generator<FolderFileRow, void, undefined> {
    for (const row of this.iterateStmt.iterate(folder) as IterableIterator<DbRow>) {
      yield fromDb(row);
    }
  }

  /**
   * Up to `limit` rows with a path after `afterPath` ('' for the first), in path order; with
   * `beforePath`, only those before it (byte order, like the primary key). What a scan needs
   * of each (ScanRow), not whole rows.
   */
  page(folder: string, afterPath: string, limit: number, beforePath?: string): ScanRow[] {
    const rows =
      beforePath === undefined
        ? this.pageStmt.all(folder, afterPath, limit)
        : this.pageBeforeStmt.all(folder, afterPath, beforePath, limit);
    return (rows as ScanDbRow[]).map(scanRow);
  }

  /** Paths of the folder's live files that are named like conflict copies. */
  conflictCandidates(folder: string): string[] {
    const hit = this.cacheFor(folder);
    if (hit?.conflicts !== undefined) return [...hit.conflicts];
    const conflicts = this.conflictStmt.all(folder) as string[];
    if (hit !== undefined) hit.conflicts = conflicts;
    return [...conflicts];
  }

  /**
   * The cache entry of a folder valid for the index as it is (made empty after a write), or
   * undefined when nothing may be cached: inside an open transaction, what is read includes
   * writes that may still be rolled back.
   */
  private cacheFor(folder: string): { totals?: FolderTotals; conflicts?: string[] } | undefined {
    const db = this.local.database;
    if (db.inTransaction) return undefined;
    // Another connection's commits too (another process of a site on the same file).
    const writes = `${this.writes}/${String(db.pragma('data_version', { simple: true }))}`;
    let entry = this.cached.get(folder);
    if (entry?.writes !== writes) {
      entry = { writes };
      this.cached.set(folder, entry);
    }
    return entry;
  }

  /**
   * Whether the index says this disk holds something of the folder (a live path present here,
   * or a file's recorded disk state): then a root without its marker is a disk not mounted, not
   * a new folder (FolderSync). Read at start and while paused only.
   */
  holdsDiskContent(folder: string): boolean {
    return (
      this.local.database
        .prepare(
          `SELECT 1 FROM folder_files WHERE folder = ?
           AND ((deleted = 0 AND need = 0) OR local_size IS NOT NULL) LIMIT 1`,
        )
        .get(folder) !== undefined
    );
  }

  countAndBytes(folder: string): FolderTotals {
    const hit = this.cacheFor(folder);
    if (hit?.totals !== undefined) return { ...hit.totals };
    const totals = this.totalsStmt.get(folder) as FolderTotals;
    if (hit !== undefined) hit.totals = totals;
    return { ...totals };
  }

  /**
   * Up to `limit` rows whose version still has to be fetched, in path order, after `afterPath`
   * (so a caller can page past files that keep failing instead of retrying them forever).
   */
  needed(folder: string, limit: number, afterPath = ''): FolderFileRow[] {
    return (this.neededStmt.all(folder, afterPath, limit) as DbRow[]).map(fromDb);
  }
}
