import type Database from 'better-sqlite3';
import { Kysely, sql } from 'kysely';
import { openDatabase } from '../../db/database.js';
import { searchWords, type MetadataDialect, type MetadataStore } from './dialect.js';
import { BetterSqliteDialect } from './sqlite-driver.js';
import type { Schema } from './schema.js';

export const sqliteDialect: MetadataDialect = {
  name: 'sqlite',
  supportsRowLocks: false,
  writableCtes: false,
  nowMs: () => sql<number>`CAST(unixepoch('subsec') * 1000 AS INTEGER)`,
  pictureMatch(table, text) {
    const words = searchWords(text);
    if (words.length === 0) return null;
    const match = words.map((w) => `"${w}"*`).join(' ');
    return sql<boolean>`${sql.ref(`${table}.rowid`)} IN (SELECT rowid FROM pictures_fts WHERE pictures_fts MATCH ${match})`;
  },
  jsonNumber: (column, key) => sql<number | null>`json_extract(${sql.ref(column)}, ${`$.${key}`})`,
  jsonText: (column, key) => sql<string | null>`json_extract(${sql.ref(column)}, ${`$.${key}`})`,
  lockUntilCommit: () => null,
  lockAllUntilCommit: () => null,
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
 * A metadata store on an open (and migrated) better-sqlite3 connection, which it then owns
 * (closing the store closes it). Its `local` gives the synchronous repositories of what stays
 * on one machine (synced folders) the same connection, in turn with Kysely's queries.
 */
export function sqliteStoreOver(database: Database.Database): MetadataStore {
  const db = new Kysely<Schema>({ dialect: new BetterSqliteDialect(database) });
  return {
    db,
    dialect: sqliteDialect,
    transaction: (fn) => db.transaction().execute(fn),
    local: {
      database,
      exclusive: (fn) => db.connection().execute(() => Promise.resolve().then(() => fn(database))),
    },
    close: () => db.destroy(),
  };
}
