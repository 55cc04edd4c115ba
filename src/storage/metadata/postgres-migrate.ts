import { sql, type Kysely } from 'kysely';
import { POSTGRES_MIGRATIONS } from './postgres-migrations.js';
import type { Schema } from './schema.js';

/**
 * Brings a PostgreSQL database's schema up to date. Several processes of a site may start at
 * once: each takes the same transaction-scoped advisory lock first (freed at commit, or when
 * its connection drops), so one migrates and the others then find nothing to do. The applied
 * versions are rows of `schema_migrations`; all pending migrations commit together or not at
 * all (PostgreSQL's DDL is transactional).
 */
export async function migratePostgres(db: Kysely<Schema>): Promise<void> {
  await db.transaction().execute(async (trx) => {
    await sql`SET LOCAL lock_timeout = '60s'`.execute(trx);
    await sql`SELECT pg_advisory_xact_lock(hashtext('mosaic.migrate'))`.execute(trx);
    await sql`CREATE TABLE IF NOT EXISTS schema_migrations (
      version    INTEGER PRIMARY KEY,
      applied_at BIGINT NOT NULL
    )`.execute(trx);
    const { rows } = await sql<{
      version: number | null;
    }>`SELECT MAX(version) AS version FROM schema_migrations`.execute(trx);
    const current = rows[0]?.version ?? 0;
    if (current > POSTGRES_MIGRATIONS.length) {
      throw new Error(
        `The database schema is version ${current}, newer than this Mosaic (${POSTGRES_MIGRATIONS.length}).`,
      );
    }
    for (let version = current; version < POSTGRES_MIGRATIONS.length; version++) {
      await sql.raw(POSTGRES_MIGRATIONS[version] ?? '').execute(trx);
      await sql`INSERT INTO schema_migrations (version, applied_at)
        VALUES (${version + 1}, ${Date.now()})`.execute(trx);
    }
  });
}
