/**
 * One real PostgreSQL (./postgres.ts) for the tests of a file: started before them, stopped
 * after them. Apart from postgres.ts, which the benches import outside vitest.
 */
import { afterAll, beforeAll } from 'vitest';
import { startPostgres, type PostgresServer } from './postgres.js';

/** Registers the start and stop; the returned function gives the server inside a test. */
export function usePostgres(): () => PostgresServer {
  let server: PostgresServer | undefined;
  beforeAll(async () => {
    server = await startPostgres();
  }, 60_000);
  afterAll(async () => {
    await server?.stop();
  });
  return () => {
    if (!server) throw new Error('PostgreSQL did not start');
    return server;
  };
}
