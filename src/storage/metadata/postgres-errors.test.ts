import { sql } from 'kysely';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { DIALECTS } from '../../../test/helpers/dialects.js';
import { usePostgres } from '../../../test/helpers/use-postgres.js';
import { openPostgresStore } from './postgres.js';

describe.skipIf(!DIALECTS.includes('postgres'))('PostgreSQL store when connections die', () => {
  const postgres = usePostgres();

  it('a connection killed inside a transaction between two queries fails that transaction, not the process', async () => {
    const url = await postgres().createDatabase();
    const store = await openPostgresStore(url);
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    try {
      const outcome = await store
        .transaction(async (trx) => {
          const { rows } = await sql<{ pid: number }>`SELECT pg_backend_pid() AS pid`.execute(trx);
          await admin.query('SELECT pg_terminate_backend($1)', [rows[0]?.pid]);
          // The client is checked out and idle: its 'error' arrives with nobody but the guard
          // listening (without it: an uncaught 'error' event).
          await new Promise((resolve) => setTimeout(resolve, 300));
          await sql`SELECT 1`.execute(trx);
          return 'committed';
        })
        .catch((error: unknown) => `failed: ${String(error)}`);
      expect(outcome).toMatch(/^failed: /);
      // The store goes on with new connections.
      const { rows } = await sql<{ one: number }>`SELECT 1 AS one`.execute(store.db);
      expect(rows).toEqual([{ one: 1 }]);
    } finally {
      await admin.end();
      await store.close();
    }
  });
});
