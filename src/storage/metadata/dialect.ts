import type Database from 'better-sqlite3';
import type { Kysely, RawBuilder, SqlBool, Transaction } from 'kysely';
import type { Schema } from './schema.js';

/**
 * What differs between the metadata store's two engines beyond Kysely's compiler and driver:
 * named capabilities and the few expressions a query builder cannot hide. Repositories ask
 * this object instead of branching on a dialect name. Upserts need nothing here: both engines
 * speak `INSERT … ON CONFLICT (…) DO UPDATE/NOTHING … RETURNING` (Kysely's `onConflict`).
 */
export interface MetadataDialect {
  readonly name: 'sqlite' | 'postgres';
  /**
   * Whether `SELECT … FOR UPDATE / FOR SHARE` exists. PostgreSQL: yes, and a read-modify-write
   * under READ COMMITTED must lock its row. SQLite: no, and not needed: a write transaction
   * (`BEGIN IMMEDIATE`) already excludes every other writer on the file.
   */
  readonly supportsRowLocks: boolean;
  /**
   * Whether a `WITH` clause may hold an INSERT/UPDATE, so that two writes go in one statement
   * (one round trip). PostgreSQL: yes. SQLite: no (and a statement costs no round trip there).
   */
  readonly writableCtes: boolean;
  /** Milliseconds since the epoch on the database's clock (leases expire on it). */
  nowMs(): RawBuilder<number>;
  /**
   * A condition on the `pictures` row named `table` that matches every word of `text` as a
   * prefix, case- and accent-folded, in its title or description; null when `text` has no
   * words (letters or digits). SQLite: FTS5 `pictures_fts`; PostgreSQL: `pictures.search`.
   */
  pictureMatch(table: string, text: string): RawBuilder<SqlBool> | null;
  /** The number at `key` of the JSON object held as text in `column` (null when absent). */
  jsonNumber(column: string, key: string): RawBuilder<number | null>;
  /** The string at `key` of the JSON object held as text in `column` (null when absent). */
  jsonText(column: string, key: string): RawBuilder<string | null>;
  /**
   * A statement that holds a lock named `key` until the transaction ends, so that several
   * processes check-then-write one thing in turn. PostgreSQL: a transaction-level advisory
   * lock. SQLite: null, nothing to run (`BEGIN IMMEDIATE` already excludes every other writer).
   */
  lockUntilCommit(key: string): RawBuilder<unknown> | null;
  /**
   * `lockUntilCommit` for several keys in one statement, taken in one global order (of the
   * keys' lock ids), so that two transactions wanting overlapping sets wait for each other
   * instead of deadlocking. PostgreSQL: transaction-level advisory locks, the keys spread
   * over a fixed number of them (a bound on the shared lock table; two keys may share one, and
   * then only wait for each other). SQLite: null.
   */
  lockAllUntilCommit(keys: readonly string[]): RawBuilder<unknown> | null;
}

/**
 * One metadata store (a SQLite file or a PostgreSQL database), opened and migrated. Inside
 * `transaction` use only the given `trx`: on SQLite the one connection is held by it, so a
 * query on `db` from the callback would wait for the transaction forever.
 */
export interface MetadataStore {
  readonly db: Kysely<Schema>;
  readonly dialect: MetadataDialect;
  /**
   * Runs `fn` in a write transaction and commits, or rolls back if it throws. SQLite: `BEGIN
   * IMMEDIATE` (the file's write lock is taken first, so two writers never deadlock on an
   * upgrade; other processes such as `mosaic user add` write the same file). PostgreSQL: READ
   * COMMITTED; see docs/architecture.md, "Metadata store", for why and for the row-lock rule.
   */
  transaction<T>(fn: (trx: Transaction<Schema>) => Promise<T>): Promise<T>;
  /**
   * SQLite only (null on PostgreSQL): the store's one connection, for the synchronous
   * repositories of state that never leaves one machine (synced folders, docs/architecture.md
   * "Metadata store"). Outside a transaction they run inside `exclusive`, which holds the
   * connection as a transaction does, so a statement never slips into another's transaction;
   * inside a `transaction` callback the connection is already held and `database` is used as is.
   */
  readonly local: LocalSqlite | null;
  /** The connection pool's figures now (PostgreSQL; absent for SQLite's one connection). */
  readonly pool?: () => PoolFigures;
  close(): Promise<void>;
}

/** Synchronous access to a SQLite store's connection, in turn with its Kysely queries. */
export interface LocalSqlite {
  readonly database: Database.Database;
  exclusive<T>(fn: (database: Database.Database) => T): Promise<T>;
}

/** What a repository method runs its queries on: the store's `db` or a transaction. */
export type Executor = Kysely<Schema>;

export interface PoolFigures {
  /** Connections open, busy or idle. */
  readonly total: number;
  readonly idle: number;
  /** Queries queued for a connection. */
  readonly waiting: number;
}

/** The words a picture search looks for: runs of letters and digits, as FTS5's unicode61. */
export function searchWords(text: string): string[] {
  return text.match(/[\p{L}\p{N}]+/gu) ?? [];
}
