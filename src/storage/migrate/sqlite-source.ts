/**
 * The SQLite file of a stopped one-process node, opened for `mosaic migrate` so that no node
 * can use it meanwhile.
 *
 * How "the node is not running" is decided: a node keeps its file open in WAL mode for as long
 * as it runs, and SQLite refuses to leave WAL mode (`PRAGMA journal_mode = DELETE` fails with
 * SQLITE_BUSY) while any other connection, in any process, has the file open. That is a lock
 * check, not a pid file: it holds across containers sharing the volume and is right after a
 * SIGKILL (the kernel drops a dead process's locks). Once out of WAL mode the connection takes
 * `locking_mode = EXCLUSIVE` and an exclusive lock it keeps until closed, so a node or
 * `mosaic user add` started during the migration fails ("database is locked") instead of
 * writing operations the migration would miss. The file is then brought to this version's
 * schema (as the node itself would on start), so its columns are the target's.
 */
import Database from 'better-sqlite3';
import { Kysely, SqliteDialect, sql } from 'kysely';
import { migrate } from '../../db/database.js';
import type { AnyTables } from './tables.js';

export class NodeRunningError extends Error {
  constructor(file: string, cause?: unknown) {
    super(
      `${file} is in use by another process (is the node, or mosaic user, still running?). ` +
        `Stop the node first: mosaic migrate copies a stopped node.`,
      { cause },
    );
    this.name = 'NodeRunningError';
  }
}

export interface SqliteSource {
  readonly db: Kysely<AnyTables>;
  /** The tables to copy (SQLite's own and FTS5's shadow tables left out). */
  tables(): Promise<string[]>;
  /** A table's primary-key columns in key order (the rowid alias for INTEGER PRIMARY KEY). */
  keyColumns(table: string): Promise<string[]>;
  /** Releases the exclusive lock. */
  close(): Promise<void>;
}

/** Dialect-only objects: FTS5's index over pictures (PostgreSQL derives its own). */
const NOT_COPIED = /^(sqlite_|pictures_fts)/;

export function openSqliteSource(file: string): SqliteSource {
  const database = new Database(file, { fileMustExist: true });
  try {
    database.pragma('busy_timeout = 0');
    let mode: unknown;
    try {
      mode = database.pragma('journal_mode = DELETE', { simple: true });
    } catch (error) {
      throw new NodeRunningError(file, error);
    }
    if (mode !== 'delete') throw new NodeRunningError(file);
    database.pragma('locking_mode = EXCLUSIVE');
    try {
      database.exec('BEGIN EXCLUSIVE; COMMIT');
    } catch (error) {
      throw new NodeRunningError(file, error);
    }
    migrate(database);
  } catch (error) {
    database.close();
    throw error;
  }
  const db = new Kysely<AnyTables>({ dialect: new SqliteDialect({ database }) });
  return {
    db,
    async tables() {
      const rows = await sql<{
        name: string;
      }>`SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name`.execute(db);
      return rows.rows.map((r) => r.name).filter((name) => !NOT_COPIED.test(name));
    },
    async keyColumns(table) {
      const rows = await sql<{
        name: string;
        pk: number;
      }>`SELECT name, pk FROM pragma_table_info(${table}) WHERE pk > 0 ORDER BY pk`.execute(db);
      if (rows.rows.length === 0) throw new Error(`Table ${table} has no primary key`);
      return rows.rows.map((r) => r.name);
    },
    close: () => db.destroy(),
  };
}
