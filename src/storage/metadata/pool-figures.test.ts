/**
 * The pool figures `/metrics` exports (`mosaic_db_pool_*`) on a real PostgreSQL: pg-pool queues
 * a checkout even while a connection is idle and hands that connection over on the next tick,
 * so read raw at that moment an idle pool said "8 idle, 8 waiting" at every scrape (the
 * scrape's own queries, started by the gauges before the pool's). Those are not waiting.
 */
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { DIALECTS } from '../../../test/helpers/dialects.js';
import { usePostgres } from '../../../test/helpers/use-postgres.js';
import { openPostgresStore } from './postgres.js';

describe.skipIf(!DIALECTS.includes('postgres'))('the pool figures', () => {
  const postgres = usePostgres();

  it('count a query handed an idle connection as busy, not waiting; only a full pool makes queries wait', async () => {
    const store = await openPostgresStore(await postgres().createDatabase(), { poolSize: 2 });
    try {
      const figures = () => store.pool?.();
      // Two connections opened, then idle.
      await Promise.all([1, 2].map(() => sql`SELECT pg_sleep(0.05)`.execute(store.db)));
      expect(figures()).toEqual({ total: 2, idle: 2, waiting: 0 });
      // Two queries start: each takes an idle connection (on the next tick).
      const two = [1, 2].map(() => sql`SELECT pg_sleep(0.2)`.execute(store.db));
      await Promise.resolve();
      expect(figures()).toEqual({ total: 2, idle: 0, waiting: 0 });
      await new Promise((resolve) => setTimeout(resolve, 50));
      // Both busy now: a third waits for one of them.
      const third = sql`SELECT 1`.execute(store.db);
      await Promise.resolve();
      expect(figures()).toEqual({ total: 2, idle: 0, waiting: 1 });
      await Promise.all([...two, third]);
      expect(figures()).toEqual({ total: 2, idle: 2, waiting: 0 });
    } finally {
      await store.close();
    }
  });
});
