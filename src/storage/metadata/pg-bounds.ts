/**
 * A PostgreSQL that stops answering (its host frozen or cut off, its disk stalled) must not
 * hold requests for ever. node-postgres waits without limit by default, and its own
 * `query_timeout` only abandons the wait: the statement stays on the connection, which goes
 * back to the pool still busy, and the next query behind it waits again.
 *
 * Here a query with no answer within the limit destroys its connection: the server rolls back
 * what that connection had not committed, the pool drops it, and the caller gets `unavailable`
 * (503, try again). So does a request that cannot get a connection within the limit (a new one
 * not accepted, or every pooled one busy), and any query the network failed under. A COMMIT cut
 * so may have been applied: as with any lost answer, the caller was not told it was, and what
 * it committed replicates like any other write.
 */
import type { PostgresPool, PostgresPoolClient } from 'kysely';
import type pg from 'pg';
import { UnavailableError } from '../../core/errors.js';
import { isNetworkError } from '../../core/network-errors.js';

/**
 * SQLSTATEs that say the server, not the statement, failed: class 08 (connection exception),
 * 57P01–57P03 (shut down by an administrator, after a crash, still starting) and 53300 (too
 * many connections).
 */
const SERVER_STATES = /^(08...|57P0[123]|53300)$/;

/** node-postgres's and pg-pool's own messages for a connection lost, refused or not had. */
const LOST_CONNECTION =
  /^(Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Client was closed)/;

/** Whether `error` says the database did not answer, rather than that it refused a statement. */
export function isDatabaseOutage(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  if (isNetworkError(error) || (typeof code === 'string' && SERVER_STATES.test(code))) return true;
  return LOST_CONNECTION.test(error.message);
}

/** The error a caller gets: `unavailable` for an outage (the cause kept), others unchanged. */
export function outageAsUnavailable(error: unknown): unknown {
  if (!isDatabaseOutage(error)) return error;
  return Object.assign(
    new UnavailableError('The database is not answering right now; try again shortly.'),
    { cause: error },
  );
}

type Query = (...args: unknown[]) => unknown;

function isPromise(value: unknown): value is Promise<unknown> {
  return typeof (value as { then?: unknown } | null)?.then === 'function';
}

/**
 * On a new pooled connection: each query gets `limitMs()` (0: no limit) to be answered, or the
 * connection is destroyed; its outages reach the caller as `unavailable`. Both forms are
 * bounded: promised (Kysely) and with a callback (pg-pool's own `pool.query`, the site bus's
 * NOTIFY); a cursor passes unchanged (Mosaic uses none).
 */
export function boundQueries(client: pg.PoolClient, limitMs: () => number): void {
  const query = client.query.bind(client) as Query;
  const arm = (): NodeJS.Timeout | undefined => {
    const limit = limitMs();
    if (limit <= 0) return undefined;
    return setTimeout(() => {
      client.connection.stream.destroy();
    }, limit);
  };
  const bounded: Query = (...args) => {
    const callback = args.at(-1);
    if (typeof callback === 'function') {
      const timer = arm();
      return query(...args.slice(0, -1), (error: unknown, result: unknown) => {
        clearTimeout(timer);
        (callback as (error: unknown, result: unknown) => void)(
          error ? outageAsUnavailable(error) : error,
          result,
        );
      });
    }
    const result = query(...args);
    if (!isPromise(result)) return result;
    const timer = arm();
    return result.then(
      (value) => {
        clearTimeout(timer);
        return value;
      },
      (error: unknown) => {
        clearTimeout(timer);
        throw outageAsUnavailable(error);
      },
    );
  };
  (client as unknown as { query: Query }).query = bounded;
}

/** The pool as Kysely sees it: a connection not had is `unavailable` too. */
export function kyselyPool(pool: pg.Pool): PostgresPool {
  return {
    connect: async (): Promise<PostgresPoolClient> => {
      try {
        return await pool.connect();
      } catch (error) {
        throw outageAsUnavailable(error);
      }
    },
    end: () => pool.end(),
    options: pool.options,
  };
}
