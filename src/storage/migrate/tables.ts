/**
 * Copying every table of a node's SQLite file into a PostgreSQL metadata store, in batches
 * read in primary-key order (keyset pagination) and written with `ON CONFLICT DO NOTHING`.
 * Each batch commits together with the migration's progress (the last key copied), so a
 * migration killed at any point resumes after the last batch that committed, and a batch
 * written twice changes nothing.
 */
import { sql, type Kysely } from 'kysely';
import type { MigrationProgress, MigrationTarget } from './target.js';
import type { SqliteSource } from './sqlite-source.js';

/** Tables reached by name at run time: a row is a column → value record on both sides. */
export type Row = Record<string, unknown>;
export type AnyTables = Record<string, Row>;

/** PostgreSQL takes at most 65535 parameters per statement; stay well under. */
const PARAMETERS_PER_BATCH = 20_000;
const MAX_ROWS_PER_BATCH = 1000;
const BYTES_PER_BATCH = 8 * 1024 * 1024;

export interface TableCopied {
  readonly table: string;
  readonly rows: number;
}

/** Copies one table from where `progress` left it; returns how many rows were read. */
export async function copyTable(
  source: SqliteSource,
  target: MigrationTarget,
  table: string,
  progress: MigrationProgress,
  options: { readonly afterBatch?: () => void; readonly batchRows?: number } = {},
): Promise<TableCopied> {
  const keys = await source.keyColumns(table);
  const columns = await columnCount(source.db, table);
  const most = Math.max(
    1,
    Math.min(MAX_ROWS_PER_BATCH, Math.floor(PARAMETERS_PER_BATCH / columns)),
  );
  // The first page is small: how large rows are is learnt from it.
  let batch = options.batchRows ?? Math.min(most, 100);
  let after = progress.stage === stageOf(table) ? progress.after : null;
  let rows = 0;
  for (;;) {
    const page = await readPage(source.db, table, keys, after, batch);
    if (page.length === 0) break;
    // Rows can be large (a big file's block list in folder_files): keep a batch near
    // BYTES_PER_BATCH in memory, whatever its row count.
    if (options.batchRows === undefined) {
      const perRow = Math.max(1, bytesOf(page) / page.length);
      batch = Math.max(1, Math.min(most, Math.floor(BYTES_PER_BATCH / perRow)));
    }
    const last = page[page.length - 1] ?? {};
    after = keys.map((k) => last[k]);
    rows += page.length;
    await target.insertBatch(table, page, { ...progress, stage: stageOf(table), after });
    options.afterBatch?.();
  }
  return { table, rows };
}

/** About how many bytes a page of rows holds (strings and buffers; numbers count 8). */
function bytesOf(rows: readonly Row[]): number {
  let total = 0;
  for (const row of rows) {
    for (const value of Object.values(row)) {
      if (typeof value === 'string') total += value.length;
      else if (Buffer.isBuffer(value)) total += value.length;
      else total += 8;
    }
  }
  return total;
}

export function stageOf(table: string): string {
  return `table:${table}`;
}

async function columnCount(db: Kysely<AnyTables>, table: string): Promise<number> {
  const rows = await sql<{
    n: number;
  }>`SELECT count(*) AS n FROM pragma_table_info(${table})`.execute(db);
  return rows.rows[0]?.n ?? 1;
}

/** The next `limit` rows after the key `after` (a row value: both engines compare tuples). */
export async function readPage(
  db: Kysely<AnyTables>,
  table: string,
  keys: readonly string[],
  after: readonly unknown[] | null,
  limit: number,
): Promise<Row[]> {
  let query = db.selectFrom(table).selectAll();
  if (after !== null) {
    const left = sql.join(keys.map((k) => sql.ref(k)));
    const right = sql.join(after.map((v) => sql.val(v)));
    query = query.where(sql<boolean>`(${left}) > (${right})`);
  }
  for (const key of keys) query = query.orderBy(key);
  return query.limit(limit).execute();
}
