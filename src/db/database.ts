import Database from 'better-sqlite3';
import { MIGRATIONS } from './migrations.js';

export type Db = Database.Database;

/**
 * Opens (creating if needed) a node's SQLite database in WAL mode and brings its schema up to
 * date. `synchronous = FULL` makes each committed transaction durable before the caller
 * answers its client; WAL keeps that cheap and lets `mosaic user add` write while a node runs.
 */
export function openDatabase(file: string): Db {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  // Memory, set deliberately (docs/benchmarks.md, "Memory"): a page cache of at most 4 MiB
  // (SQLite's default is ~2 MB; the op log and folder index are read in pages of a few hundred
  // rows, which 4 MiB holds), and no memory-mapped I/O, so the database file never counts in
  // the node's RSS; the OS page cache still holds it.
  db.pragma('cache_size = -4096');
  db.pragma('mmap_size = 0');
  migrate(db);
  return db;
}

export function migrate(db: Db): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > MIGRATIONS.length) {
    throw new Error(
      `The database schema is version ${current}, newer than this Mosaic (${MIGRATIONS.length}).`,
    );
  }
  if (current === MIGRATIONS.length) return;
  // Every missing migration in one transaction: an upgrade is all or nothing, and a new data
  // directory's schema costs one flush of the log instead of one per migration (15 flushes,
  // 37-73 ms of a fresh node's start on a journalled disk: docs/benchmarks.md).
  db.transaction(() => {
    for (let version = current; version < MIGRATIONS.length; version++) {
      db.exec(MIGRATIONS[version] ?? '');
    }
    db.pragma(`user_version = ${MIGRATIONS.length}`);
  }).immediate();
}
