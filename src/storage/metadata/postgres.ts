import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import {
  searchWords,
  type MetadataDialect,
  type MetadataStore,
  type PoolFigures,
} from './dialect.js';
import { timeoutParam } from '../../config/timeout-param.js';
import { UnavailableError } from '../../core/errors.js';
import { boundQueries, kyselyPool } from './pg-bounds.js';
import { migratePostgres } from './postgres-migrate.js';
import { prepareMarked, prepared } from './prepared.js';
import type { Schema } from './schema.js';

const { builtins } = pg.types;

/**
 * node-postgres returns int8 (BIGINT columns, COUNT) and numeric (SUM of BIGINT) as strings,
 * since they may exceed 2^53. Mosaic's integers (times in ms, sizes, sequence numbers, row
 * ids) stay far below, so they come back as numbers like SQLite's; a value past 2^53 throws
 * instead of silently losing digits.
 */
function parseInteger(text: string): number {
  const value = Number(text);
  if (Number.isInteger(value) && !Number.isSafeInteger(value)) {
    throw new RangeError(`Integer ${text} from PostgreSQL does not fit a JavaScript number`);
  }
  return value;
}

const types: pg.CustomTypesConfig = {
  getTypeParser: (oid, format) =>
    oid === builtins.INT8 || oid === builtins.NUMERIC
      ? parseInteger
      : (pg.types.getTypeParser(oid, format) as unknown),
};

/** How many locks `lockAllUntilCommit` spreads its keys over (a power of two). */
const LOCK_STRIPES = 128;
/** The first key of its two-key advisory locks ("MOS"). */
const STRIPE_SPACE = 0x4d4f53;

export const postgresDialect: MetadataDialect = {
  name: 'postgres',
  supportsRowLocks: true,
  writableCtes: true,
  // clock_timestamp(), not now(): now() is frozen at the start of the transaction.
  nowMs: () => sql<number>`(extract(epoch from clock_timestamp()) * 1000)::bigint`,
  pictureMatch(table, text) {
    const words = searchWords(text);
    if (words.length === 0) return null;
    const query = words.map((w) => `${w}:*`).join(' & ');
    return sql<boolean>`${sql.ref(`${table}.search`)} @@ to_tsquery('mosaic_search', ${query})`;
  },
  jsonNumber: (column, key) => sql<number | null>`(${sql.ref(column)}::jsonb ->> ${key})::numeric`,
  jsonText: (column, key) => sql<string | null>`(${sql.ref(column)}::jsonb ->> ${key})`,
  lockUntilCommit: (key) =>
    sql`${prepared} SELECT pg_advisory_xact_lock(hashtextextended(${key}, 0))`,
  // Each key maps to one of LOCK_STRIPES locks (two-key advisory locks, a space apart from
  // lockUntilCommit's one-key ones): PostgreSQL's lock table is shared and bounded
  // (max_locks_per_transaction × connections), and a batch of 1 000 pictures must not take
  // 1 000 entries. Sorted in a subquery (DISTINCT keeps it from being flattened) and locked in
  // that order by the outer scan. Two keys on one stripe only wait for each other.
  lockAllUntilCommit: (keys) =>
    keys.length === 0
      ? null
      : sql`SELECT pg_advisory_xact_lock(${sql.lit(STRIPE_SPACE)}, s) FROM (SELECT DISTINCT (hashtextextended(key, 0) & ${sql.lit(LOCK_STRIPES - 1)})::int AS s FROM unnest(${[...keys]}::text[]) AS key ORDER BY s) AS ordered`,
};

/**
 * A pooled connection that dies while checked out but between two queries (a transaction
 * awaiting something else when the server restarts) emits 'error' on its client, and pg-pool
 * listens only while the client is idle: unheard, that error would end the process. The
 * caller learns of it anyway, from its next query on that client.
 */
export function guardClient(client: pg.PoolClient): void {
  client.on('error', () => undefined);
}

export interface PostgresOptions {
  /** Connections in this process's pool (default 10). */
  readonly poolSize?: number;
  /** An idle pooled connection failed (server restart...): it is dropped; told here. */
  readonly onPoolError?: (error: Error) => void;
}

export interface PostgresSettings {
  /** The URL as pg gets it: Mosaic's own settings taken out (PostgreSQL would refuse them). */
  readonly url: string;
  /**
   * `?prepared=off`: every statement goes unnamed, for a connection pooler in transaction mode
   * (PgBouncer before 1.21, or without `max_prepared_statements`), where a statement prepared
   * on one server connection is unknown on the next.
   */
  readonly prepared: boolean;
  /**
   * `?timeout=SECONDS` (default 30): how long a query, or the wait for a connection, may go
   * unanswered before its connection is dropped and the request is answered 503 (pg-bounds.ts).
   */
  readonly timeoutMs: number;
}

const USAGE = 'In the database URL';

/** Mosaic's settings in a `postgres://` URL, checked, and the URL without them. */
export function postgresSettings(databaseUrl: string): PostgresSettings {
  if (!/[?&](prepared|timeout)=/.test(databaseUrl)) {
    return { url: databaseUrl, prepared: true, timeoutMs: timeoutParam(null, USAGE) };
  }
  const parsed = new URL(databaseUrl);
  const prepared = parsed.searchParams.get('prepared') ?? 'on';
  if (prepared !== 'on' && prepared !== 'off')
    throw new Error(`prepared=${prepared} in the database URL: use prepared=on or prepared=off`);
  const timeoutMs = timeoutParam(parsed.searchParams.get('timeout'), USAGE);
  parsed.searchParams.delete('prepared');
  parsed.searchParams.delete('timeout');
  return { url: parsed.toString(), prepared: prepared === 'on', timeoutMs };
}

/** Opens a PostgreSQL database (`postgres://…`) as a metadata store and migrates it. */
export async function openPostgresStore(
  databaseUrl: string,
  options: PostgresOptions = {},
): Promise<MetadataStore> {
  const { url, prepared, timeoutMs } = postgresSettings(databaseUrl);
  const pool = new pg.Pool({
    connectionString: url,
    max: options.poolSize ?? 10,
    types,
    connectionTimeoutMillis: timeoutMs,
  });
  // Migrations may rewrite large tables: their statements are not bounded.
  let limitMs = 0;
  pool.on('error', (error) => options.onPoolError?.(error));
  pool.on('connect', (client) => {
    guardClient(client);
    if (prepared) prepareMarked(client);
    boundQueries(client, () => limitMs);
  });
  const db = new Kysely<Schema>({ dialect: new PostgresDialect({ pool: kyselyPool(pool) }) });
  try {
    await migratePostgres(db);
  } catch (error) {
    await db.destroy();
    // At start-up the operator needs what failed (refused, no such database, a wrong
    // password...) and that it is the database, not "retry".
    const cause = error instanceof UnavailableError ? error.cause : error;
    const message = cause instanceof Error ? cause.message : String(cause);
    throw new Error(`The database cannot be used: ${message}`, { cause });
  }
  limitMs = timeoutMs;
  return {
    db,
    dialect: postgresDialect,
    transaction: (fn) => db.transaction().setIsolationLevel('read committed').execute(fn),
    local: null,
    pool: () => poolFigures(pool),
    close: () => db.destroy(),
  };
}

/**
 * pg-pool queues a checkout even while a connection is idle and hands it over on the next
 * tick: those are not waiting for a connection, and those connections are not idle (read
 * raw, every scrape of an idle pool said as many waiting as idle: its own queries).
 */
function poolFigures(pool: pg.Pool): PoolFigures {
  const queued = pool.waitingCount;
  const idle = pool.idleCount;
  return {
    total: pool.totalCount,
    idle: Math.max(0, idle - queued),
    waiting: Math.max(0, queued - idle),
  };
}
