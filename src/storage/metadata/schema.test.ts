import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from '../../../test/helpers/dialects.js';
import { startPostgres, type PostgresServer } from '../../../test/helpers/postgres.js';
import { MIGRATIONS } from '../../db/migrations.js';
import type { MetadataStore } from './dialect.js';
import { POSTGRES_MIGRATIONS } from './postgres-migrations.js';
import { openMetadataStore } from './store.js';

/**
 * Dialect-only objects, reached through MetadataDialect: FTS5's tables, the tsvector column; and
 * the JSON view column of PostgreSQL's gallery pages (src/pictures/gallery-json.repository.ts).
 */
const SQLITE_ONLY = /^pictures_fts/;
const POSTGRES_ONLY = new Set(['schema_migrations', 'pictures.search', 'pictures.view_json']);

async function columns(store: MetadataStore): Promise<string[]> {
  const tables = await store.db.introspection.getTables();
  return tables
    .filter((t) => !SQLITE_ONLY.test(t.name) && !POSTGRES_ONLY.has(t.name))
    .flatMap((t) =>
      t.columns
        .filter((c) => !POSTGRES_ONLY.has(`${t.name}.${c.name}`))
        // SQLite reports its INTEGER PRIMARY KEY (the rowid) nullable; it never holds NULL.
        .map((c) => {
          const nullable = c.isNullable && !c.isAutoIncrementing;
          const auto = c.isAutoIncrementing ? ' generated' : '';
          return `${t.name}.${c.name}${nullable ? '' : ' not null'}${auto}`;
        }),
    )
    .sort();
}

describe.skipIf(!DIALECTS.includes('postgres'))('metadata schema on both engines', () => {
  let server: PostgresServer;
  let dir: string;

  beforeAll(async () => {
    server = await startPostgres();
    dir = await mkdtemp(join(tmpdir(), 'mosaic-schema-'));
  }, 60_000);
  afterAll(async () => {
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('has as many migrations on PostgreSQL as on SQLite', () => {
    expect(POSTGRES_MIGRATIONS.length).toBe(MIGRATIONS.length);
  });

  it('has the same tables, columns and nullability on SQLite and PostgreSQL', async () => {
    const sqlite = await openMetadataStore(join(dir, 'node.db'));
    const postgres = await openMetadataStore(await server.createDatabase());
    try {
      const [a, b] = await Promise.all([columns(sqlite), columns(postgres)]);
      expect(a.length).toBeGreaterThan(100);
      expect(b).toEqual(a);
    } finally {
      await Promise.all([sqlite.close(), postgres.close()]);
    }
  });

  it('migrates once when several processes start at once', async () => {
    const url = await server.createDatabase();
    const stores = await Promise.all([1, 2, 3, 4].map(() => openMetadataStore(url)));
    try {
      const [store] = stores;
      if (!store) throw new Error('no store');
      const rows = await store.db
        .selectFrom('meta')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .execute();
      expect(rows).toEqual([{ n: 0 }]);
      const applied = await sql<{
        version: number;
      }>`SELECT version FROM schema_migrations ORDER BY version`.execute(store.db);
      expect(applied.rows.map((r) => r.version)).toEqual(MIGRATIONS.map((_, i) => i + 1));
    } finally {
      await Promise.all(stores.map((s) => s.close()));
    }
  });
});
