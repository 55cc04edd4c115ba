/**
 * The fault tier's crash of PostgreSQL (`kill`, then `restart` at once): CI saw a backend forked
 * while the old helper listed the postmaster's children outlive the kill, holding the server's
 * shared memory, and the restart refused ("pre-existing shared memory block is still in use").
 * Here connections are opened as fast as the server forks backends while it is killed.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPostgres, type PostgresServer } from './postgres.js';

describe('a PostgreSQL crash of the fault tier', () => {
  let server: PostgresServer | undefined;
  beforeAll(async () => {
    server = await startPostgres({ durable: true });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('kills every process of the server, so that it starts again at once, however busy', async () => {
    if (!server) throw new Error('no server');
    const url = await server.createDatabase();
    for (let round = 0; round < 8; round++) {
      let storming = true;
      // Each connection is a backend forked by the postmaster; ten lanes keep it forking.
      const storm = Array.from({ length: 10 }, async () => {
        while (storming) {
          const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
          client.on('error', () => {});
          await client
            .connect()
            .then(() => client.end())
            .catch(() => {});
        }
      });
      await new Promise((r) => setTimeout(r, 150 + round * 40));
      await server.kill();
      storming = false;
      await Promise.all(storm);
      await server.restart();
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      const { rows } = await client.query<{ one: number }>('SELECT 1 AS one');
      await client.end();
      expect(rows[0]?.one).toBe(1);
    }
  });
});
