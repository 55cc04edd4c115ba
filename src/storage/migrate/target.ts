/**
 * The PostgreSQL side of `mosaic migrate`: claims the target for one site, writes batches with
 * the migration's progress, and finishes. The progress lives in the target's `meta` table
 * under MIGRATION_KEY, written in the same transaction as each batch, and is removed when the
 * migration completes: while it is there the target is a site half moved in, which
 * `assertNoMigrationInProgress` refuses to run a node on.
 *
 * The target's state, read from `meta`:
 * - no node id: a fresh database, claimed by writing the site's node id and the progress
 *   (provided it holds no rows: a database some other use filled is refused);
 * - the site's node id and the progress: a migration to resume;
 * - the site's node id, no progress: already migrated, nothing to do;
 * - another node id: another site's database, refused.
 */
import { sql, type Kysely, type Transaction } from 'kysely';
import type { MetadataStore } from '../metadata/dialect.js';
import type { Schema } from '../metadata/schema.js';
import type { AnyTables, Row } from './tables.js';

export const MIGRATION_KEY = 'migration_in_progress';

export interface MigrationProgress {
  /** The node id of the site being moved in. */
  readonly from: string;
  /** Stages finished ("table:ops", "blobs:pictures:live"...). */
  readonly done: readonly string[];
  /** The stage under way and the last key it wrote, or null. */
  readonly stage: string | null;
  readonly after: readonly unknown[] | null;
}

export type Claim =
  | { readonly state: 'fresh' | 'resume'; readonly progress: MigrationProgress }
  | { readonly state: 'complete' };

export class DifferentSiteError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DifferentSiteError';
  }
}

export class MigrationInProgressError extends Error {
  constructor(from: string) {
    super(
      `This database is a site (node ${from}) half moved in by mosaic migrate: run mosaic migrate ` +
        `again with the same --from-data to finish it before starting a node on it.`,
    );
    this.name = 'MigrationInProgressError';
  }
}

/** For the composition root: refuses a database that a migration has not finished filling. */
export async function assertNoMigrationInProgress(store: MetadataStore): Promise<void> {
  const row = await store.db
    .selectFrom('meta')
    .select('value')
    .where('key', '=', MIGRATION_KEY)
    .executeTakeFirst();
  if (row) throw new MigrationInProgressError((JSON.parse(row.value) as MigrationProgress).from);
}

export class MigrationTarget {
  constructor(private readonly store: MetadataStore) {}

  private get any(): Kysely<AnyTables> {
    return this.store.db as unknown as Kysely<AnyTables>;
  }

  async claim(siteId: string): Promise<Claim> {
    return this.store.transaction(async (trx) => {
      // One migration at a time: the second waits here, then sees the first one's claim.
      await sql`SELECT pg_advisory_xact_lock(hashtext('mosaic-migrate'))`.execute(trx);
      const id = await meta(trx, 'node_id');
      const marker = await meta(trx, MIGRATION_KEY);
      if (id === null) {
        const { n } = await trx
          .selectFrom('ops')
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .executeTakeFirstOrThrow();
        const users = await trx.selectFrom('users').select('username').limit(1).execute();
        if (n > 0 || users.length > 0) {
          throw new DifferentSiteError(
            'The target database has operations or accounts but no site identity: it is not ' +
              'an empty Mosaic database. Give an empty database.',
          );
        }
        const progress: MigrationProgress = { from: siteId, done: [], stage: null, after: null };
        await trx.insertInto('meta').values({ key: 'node_id', value: siteId }).execute();
        await trx
          .insertInto('meta')
          .values({ key: MIGRATION_KEY, value: JSON.stringify(progress) })
          .execute();
        return { state: 'fresh', progress };
      }
      if (id !== siteId) {
        throw new DifferentSiteError(
          `The target database holds another site (node ${id}), not this node (${siteId}). ` +
            `Give an empty database, or this site's own.`,
        );
      }
      if (marker === null) return { state: 'complete' };
      return { state: 'resume', progress: JSON.parse(marker) as MigrationProgress };
    });
  }

  /** Writes rows (those already there are kept as they are) and the progress, atomically. */
  async insertBatch(
    table: string,
    rows: readonly Row[],
    progress: MigrationProgress,
  ): Promise<void> {
    await this.store.transaction(async (trx) => {
      const any = trx as unknown as Transaction<AnyTables>;
      if (rows.length > 0) {
        await any
          .insertInto(table)
          .values(rows)
          .onConflict((oc) => oc.doNothing())
          .execute();
      }
      await saveProgress(trx, progress);
    });
  }

  async save(progress: MigrationProgress): Promise<void> {
    await this.store.transaction((trx) => saveProgress(trx, progress));
  }

  /** The target's column names of `table` (to refuse a table the target does not have). */
  async hasTable(table: string): Promise<boolean> {
    const tables = await this.any.introspection.getTables();
    return tables.some((t) => t.name === table);
  }

  /**
   * Ends the migration: identity columns (copied with their values) continue after the
   * largest copied one, and the progress row goes, which lets nodes start on the database.
   */
  async finish(): Promise<void> {
    await this.store.transaction(async (trx) => {
      const identities = await sql<{ table_name: string; column_name: string }>`
        SELECT table_name, column_name FROM information_schema.columns
        WHERE table_schema = current_schema() AND is_identity = 'YES'`.execute(trx);
      for (const { table_name: table, column_name: column } of identities.rows) {
        await sql`SELECT setval(pg_get_serial_sequence(${table}, ${column}),
          (SELECT coalesce(max(${sql.ref(column)}), 0) + 1 FROM ${sql.table(table)}), false)`.execute(
          trx,
        );
      }
      await trx.deleteFrom('meta').where('key', '=', MIGRATION_KEY).execute();
    });
  }
}

async function meta(trx: Transaction<Schema>, key: string): Promise<string | null> {
  const row = await trx
    .selectFrom('meta')
    .select('value')
    .where('key', '=', key)
    .executeTakeFirst();
  return row?.value ?? null;
}

async function saveProgress(trx: Transaction<Schema>, progress: MigrationProgress): Promise<void> {
  const value = JSON.stringify(progress);
  await trx
    .insertInto('meta')
    .values({ key: MIGRATION_KEY, value })
    .onConflict((oc) => oc.column('key').doUpdateSet({ value }))
    .execute();
}
