import Database from 'better-sqlite3';
import {
  CompiledQuery,
  Kysely,
  SqliteDialect,
  SqliteDriver,
  sql,
  type DatabaseConnection,
  type QueryCompiler,
  type Driver,
  type SqliteDialectConfig,
  type TransactionSettings,
} from 'kysely';
import { openDatabase } from '../../db/database.js';
import { searchWords, type MetadataDialect, type MetadataStore } from './dialect.js';
import type { Schema } from './schema.js';

/**
 * Kysely's SQLite driver begins every transaction with a plain (deferred) `BEGIN`
 * (kysely-org/kysely#1152): its first write then has to upgrade a read lock, which fails at
 * once with SQLITE_BUSY, busy_timeout notwithstanding, when another process wrote meanwhile.
 * This driver begins write transactions IMMEDIATE (the write lock first, waiting up to
 * busy_timeout) and read-only ones deferred (a consistent snapshot that blocks no writer).
 */
type CompileQuery = QueryCompiler['compileQuery'];

class ImmediateSqliteDriver implements Driver {
  private readonly inner: SqliteDriver;

  constructor(config: SqliteDialectConfig) {
    this.inner = new SqliteDriver(config);
  }

  init(): Promise<void> {
    return this.inner.init();
  }

  acquireConnection(): Promise<DatabaseConnection> {
    return this.inner.acquireConnection();
  }

  async beginTransaction(
    connection: DatabaseConnection,
    settings: TransactionSettings,
  ): Promise<void> {
    const begin = settings.accessMode === 'read only' ? 'begin deferred' : 'begin immediate';
    await connection.executeQuery(CompiledQuery.raw(begin));
  }

  commitTransaction(connection: DatabaseConnection): Promise<void> {
    return this.inner.commitTransaction(connection);
  }

  rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    return this.inner.rollbackTransaction(connection);
  }

  savepoint(connection: DatabaseConnection, name: string, compile: CompileQuery): Promise<void> {
    return this.inner.savepoint(connection, name, compile);
  }

  rollbackToSavepoint(
    connection: DatabaseConnection,
    name: string,
    compile: CompileQuery,
  ): Promise<void> {
    return this.inner.rollbackToSavepoint(connection, name, compile);
  }

  releaseSavepoint(
    connection: DatabaseConnection,
    name: string,
    compile: CompileQuery,
  ): Promise<void> {
    return this.inner.releaseSavepoint(connection, name, compile);
  }

  releaseConnection(): Promise<void> {
    return this.inner.releaseConnection();
  }

  destroy(): Promise<void> {
    return this.inner.destroy();
  }
}

class ImmediateSqliteDialect extends SqliteDialect {
  constructor(private readonly settings: SqliteDialectConfig) {
    super(settings);
  }

  override createDriver(): Driver {
    return new ImmediateSqliteDriver(this.settings);
  }
}

export const sqliteDialect: MetadataDialect = {
  name: 'sqlite',
  supportsRowLocks: false,
  nowMs: () => sql<number>`CAST(unixepoch('subsec') * 1000 AS INTEGER)`,
  pictureMatch(table, text) {
    const words = searchWords(text);
    if (words.length === 0) return null;
    const match = words.map((w) => `"${w}"*`).join(' ');
    return sql<boolean>`${sql.ref(`${table}.rowid`)} IN (SELECT rowid FROM pictures_fts WHERE pictures_fts MATCH ${match})`;
  },
  jsonNumber: (column, key) => sql<number | null>`json_extract(${sql.ref(column)}, ${`$.${key}`})`,
};

/**
 * Opens a node's SQLite file as a metadata store: the same pragmas (WAL, synchronous=FULL,
 * foreign_keys, busy_timeout) and the same migrations and `user_version` as
 * src/db/database.ts, so an existing data directory opens unchanged.
 */
export function openSqliteStore(file: string): MetadataStore {
  return sqliteStoreOver(openDatabase(file));
}

/**
 * A metadata store over an open (and migrated) better-sqlite3 connection, sharing it: for the
 * parts of a node still written with better-sqlite3 directly, during the move to the store.
 * Closing the store closes the connection.
 */
export function sqliteStoreOver(database: Database.Database): MetadataStore {
  const db = new Kysely<Schema>({ dialect: new ImmediateSqliteDialect({ database }) });
  return {
    db,
    dialect: sqliteDialect,
    transaction: (fn) => db.transaction().execute(fn),
    close: () => db.destroy(),
  };
}
