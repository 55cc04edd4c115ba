import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { DIALECTS } from '../../../test/helpers/dialects.js';
import { usePostgres } from '../../../test/helpers/use-postgres.js';
import { UnavailableError } from '../../core/errors.js';
import { isDatabaseOutage } from './pg-bounds.js';
import { openPostgresStore } from './postgres.js';

describe('isDatabaseOutage', () => {
  it('tells a database that did not answer from one that refused the statement', () => {
    const coded = (code: string, message = 'x') => Object.assign(new Error(message), { code });
    expect(isDatabaseOutage(coded('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:5432'))).toBe(
      true,
    );
    expect(isDatabaseOutage(coded('57P01', 'terminating connection due to administrator'))).toBe(
      true,
    );
    expect(isDatabaseOutage(coded('08006'))).toBe(true);
    // A route to the server that drops everything: the kernel refuses the connect with EINVAL.
    const blackholed = Object.assign(coded('EINVAL', 'connect EINVAL 10.0.0.1:5432'), {
      syscall: 'connect',
    });
    expect(isDatabaseOutage(blackholed)).toBe(true);
    expect(isDatabaseOutage(new Error('Connection terminated unexpectedly'))).toBe(true);
    expect(isDatabaseOutage(new Error('timeout exceeded when trying to connect'))).toBe(true);
    expect(isDatabaseOutage(coded('23505', 'duplicate key value'))).toBe(false);
    expect(isDatabaseOutage(coded('40P01', 'deadlock detected'))).toBe(false);
    expect(isDatabaseOutage(coded('42P01', 'relation "x" does not exist'))).toBe(false);
    expect(isDatabaseOutage('Connection terminated')).toBe(false);
  });
});

describe.skipIf(!DIALECTS.includes('postgres'))('PostgreSQL that stops answering', () => {
  const postgres = usePostgres();

  async function openWithTimeout(seconds: number, poolSize = 2) {
    const url = new URL(await postgres().createDatabase());
    url.searchParams.set('timeout', String(seconds));
    return openPostgresStore(url.toString(), { poolSize });
  }

  it('fails a query, a transaction and a wait for a connection as unavailable within the limit, then works again', async () => {
    const store = await openWithTimeout(0.5, 2);
    await sql`CREATE TABLE t (x int PRIMARY KEY)`.execute(store.db);
    let thaw = (): void => undefined;
    try {
      const started = Date.now();
      // A transaction that wrote a row, then the server froze under it.
      const cut = store.transaction(async (trx) => {
        await sql`INSERT INTO t VALUES (1)`.execute(trx);
        thaw = await postgres().freeze();
        await sql`SELECT 1`.execute(trx);
        return 'committed';
      });
      await expect(cut).rejects.toBeInstanceOf(UnavailableError);
      // One query on the other pooled connection, two more waiting for a connection.
      const outcomes = await Promise.allSettled(
        [1, 2, 3].map(() => sql`SELECT 1`.execute(store.db)),
      );
      for (const outcome of outcomes) {
        expect(outcome.status).toBe('rejected');
        expect((outcome as PromiseRejectedResult).reason).toBeInstanceOf(UnavailableError);
      }
      // Each waited about its limit (0.5 s), not for ever: 3 s leaves room for a busy machine.
      expect(Date.now() - started).toBeLessThan(3_000);
    } finally {
      thaw();
    }
    try {
      // Nothing is left holding the pool, and what the cut transaction wrote was rolled back.
      const { rows } = await sql<{ n: number }>`SELECT count(*) AS n FROM t`.execute(store.db);
      expect(rows).toEqual([{ n: 0 }]);
      await store.transaction(async (trx) => {
        await sql`INSERT INTO t VALUES (1)`.execute(trx);
      });
      expect(store.pool?.().waiting).toBe(0);
    } finally {
      await store.close();
    }
  });

  it('leaves a statement the database refused as it was, not unavailable', async () => {
    const store = await openWithTimeout(5);
    try {
      await sql`CREATE TABLE t (x int PRIMARY KEY)`.execute(store.db);
      await sql`INSERT INTO t VALUES (1)`.execute(store.db);
      const refused = await sql`INSERT INTO t VALUES (1)`
        .execute(store.db)
        .catch((e: unknown) => e);
      expect(refused).not.toBeInstanceOf(UnavailableError);
      expect((refused as { code?: string }).code).toBe('23505');
    } finally {
      await store.close();
    }
  });

  it('says why at start-up when the database cannot be reached', async () => {
    const url = new URL(postgres().url);
    url.port = '1';
    url.searchParams.set('timeout', '2');
    await expect(openPostgresStore(url.toString())).rejects.toThrow(
      /^The database cannot be used: connect ECONNREFUSED 127\.0\.0\.1:1$/,
    );
  });

  it('says at start-up that it is the database which refuses (no such database, role...)', async () => {
    const url = new URL(postgres().url);
    url.pathname = '/no_such_database';
    await expect(openPostgresStore(url.toString())).rejects.toThrow(
      /^The database cannot be used: database "no_such_database" does not exist$/,
    );
  });
});
