import type Database from 'better-sqlite3';
import {
  CompiledQuery,
  SelectQueryNode,
  SqliteAdapter,
  SqliteIntrospector,
  SqliteQueryCompiler,
  type DatabaseConnection,
  type DatabaseIntrospector,
  type Dialect,
  type DialectAdapter,
  type Driver,
  type Kysely,
  type QueryCompiler,
  type QueryResult,
  type TransactionSettings,
} from 'kysely';

/** Prepared statements kept per connection: the node's queries are a few hundred shapes. */
const STATEMENT_CACHE = 500;

/**
 * One better-sqlite3 connection as Kysely's connection. Unlike Kysely's own SQLite driver it
 * keeps prepared statements (preparing is most of a point query's cost: 11 µs → 6 µs per query
 * measured) and begins write transactions IMMEDIATE: Kysely's plain `BEGIN` is deferred, and
 * its first write then fails at once with SQLITE_BUSY, busy_timeout notwithstanding, when
 * another process (`mosaic user add`) wrote meanwhile (kysely-org/kysely#1152).
 */
class SqliteConnection implements DatabaseConnection {
  private readonly statements = new Map<string, Database.Statement>();

  constructor(private readonly db: Database.Database) {}

  private prepare(sql: string): Database.Statement {
    let stmt = this.statements.get(sql);
    if (stmt === undefined) {
      stmt = this.db.prepare(sql);
      if (this.statements.size >= STATEMENT_CACHE) {
        const oldest = this.statements.keys().next().value;
        if (oldest !== undefined) this.statements.delete(oldest);
      }
      this.statements.set(sql, stmt);
    }
    return stmt;
  }

  executeQuery<R>(compiled: CompiledQuery): Promise<QueryResult<R>> {
    try {
      const stmt = this.prepare(compiled.sql);
      const parameters = compiled.parameters;
      if (stmt.reader) return Promise.resolve({ rows: stmt.all(parameters) as R[] });
      const { changes, lastInsertRowid } = stmt.run(parameters);
      return Promise.resolve({
        numAffectedRows: BigInt(changes),
        insertId: BigInt(lastInsertRowid),
        rows: [],
      });
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
  }

  async *streamQuery<R>(compiled: CompiledQuery): AsyncIterableIterator<QueryResult<R>> {
    if (!SelectQueryNode.is(compiled.query)) {
      throw new Error('Only SELECT queries can be streamed');
    }
    const stmt = this.prepare(compiled.sql);
    for (const row of stmt.iterate(compiled.parameters)) {
      yield { rows: [row as R] };
    }
  }
}

class SqliteDriver implements Driver {
  private readonly connection: SqliteConnection;
  /** Whether a query or transaction holds the connection; who waits for it next, in order. */
  private held = false;
  private readonly waiting: ((connection: DatabaseConnection) => void)[] = [];

  constructor(private readonly db: Database.Database) {
    this.connection = new SqliteConnection(db);
  }

  async init(): Promise<void> {}

  /**
   * One user of the connection at a time (a transaction holds it from BEGIN to COMMIT), the
   * others queued in order and handed it one by one. Kysely's own mutex for a one-connection
   * dialect (`ConnectionMutex`) wakes every waiter at each release, and all but one wait again:
   * with the few hundred queries a catch-up queues behind a transaction that is quadratic (48 MB
   * of 198 MB allocated in a 300-picture catch-up of bench:replication; docs/benchmarks.md),
   * so the adapter below tells Kysely the dialect queues its connection itself.
   */
  acquireConnection(): Promise<DatabaseConnection> {
    if (!this.held) {
      this.held = true;
      return Promise.resolve(this.connection);
    }
    return new Promise((resolve) => {
      this.waiting.push(resolve);
    });
  }

  async beginTransaction(connection: DatabaseConnection, settings: TransactionSettings) {
    const begin = settings.accessMode === 'read only' ? 'begin deferred' : 'begin immediate';
    await connection.executeQuery(CompiledQuery.raw(begin));
  }

  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('commit'));
  }

  /**
   * Only while a transaction is open: SQLite ends one by itself on some errors (a full disk,
   * SQLITE_FULL; an I/O error; out of memory), and a ROLLBACK then fails with "cannot rollback -
   * no transaction is active", which Kysely throws in place of the error that ended it. A node
   * whose disk filled up reported only that, and its operator could not tell why.
   */
  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    if (!this.db.inTransaction) return;
    await connection.executeQuery(CompiledQuery.raw('rollback'));
  }

  async savepoint(connection: DatabaseConnection, name: string): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw(`savepoint ${quoteName(name)}`));
  }

  /** Likewise: nothing to go back to once SQLite ended the whole transaction. */
  async rollbackToSavepoint(connection: DatabaseConnection, name: string): Promise<void> {
    if (!this.db.inTransaction) return;
    await connection.executeQuery(CompiledQuery.raw(`rollback to ${quoteName(name)}`));
  }

  async releaseSavepoint(connection: DatabaseConnection, name: string): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw(`release ${quoteName(name)}`));
  }

  async releaseConnection(): Promise<void> {
    const next = this.waiting.shift();
    if (next === undefined) this.held = false;
    else next(this.connection);
  }

  async destroy(): Promise<void> {
    if (this.db.open) this.db.close();
  }
}

function quoteName(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** SQLite's adapter, whose one connection the driver above queues (no Kysely mutex). */
class QueuedSqliteAdapter extends SqliteAdapter {
  override get supportsMultipleConnections(): boolean {
    return true;
  }
}

/** Kysely's SQLite dialect on one better-sqlite3 connection, through the driver above. */
export class BetterSqliteDialect implements Dialect {
  constructor(private readonly db: Database.Database) {}

  createDriver(): Driver {
    return new SqliteDriver(this.db);
  }

  createQueryCompiler(): QueryCompiler {
    return new SqliteQueryCompiler();
  }

  createAdapter(): DialectAdapter {
    return new QueuedSqliteAdapter();
  }

  createIntrospector(db: Kysely<unknown>): DatabaseIntrospector {
    return new SqliteIntrospector(db);
  }
}
