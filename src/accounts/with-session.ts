/**
 * A session check folded into a read's statement: a page of rows and the session cookie's
 * principal in one round trip to the metadata store (on PostgreSQL each statement is one; a
 * gallery page was two, the session then the page). The session is checked exactly as
 * `AccountRepository.findSession` does, in the same statement as the page, so it is as fresh as
 * a read of its own: a session logged out or expired at any process of the site is refused.
 * On SQLite, where a statement is no round trip, it is the two statements (session, then page).
 */
import { sql, type SelectQueryBuilder } from 'kysely';
import type { MetadataStore } from '../storage/metadata/dialect.js';
import { prepared } from '../storage/metadata/prepared.js';
import type { Principal } from './principal.js';

/** A session to check: its hash (as stored) and the time it must still be valid at. */
export interface SessionCheck {
  readonly hash: string;
  readonly now: number;
}

type SessionColumns = { session_username: string; session_role: Principal['role'] };
type Nullable<T> = { [K in keyof T]: T[K] | null };

/**
 * The session's principal and the rows of `page` (a select with its own order and limit), in
 * the order of `orderBy` (columns of the page, descending); null when the session is unknown
 * or expired. The page is left-joined to the session's one row: a valid session with an empty
 * page is one row of nulls, an invalid session no row at all.
 */
export async function readWithSession<Row extends { id: string }>(
  store: MetadataStore,
  check: SessionCheck,
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- any source tables: only its rows matter
  page: SelectQueryBuilder<any, any, Row>,
  orderBy: readonly (keyof Row & string)[],
  /** Prepare the statement (storage/metadata/prepared.ts): only when its text is one of few. */
  mark: boolean,
): Promise<{ principal: Principal; rows: Row[] } | null> {
  const db = store.db;
  if (!store.dialect.statementRoundTrips) {
    // SQLite: no round trip to save; the folded statement would only add a sort of the page.
    const principal = await db
      .selectFrom('sessions')
      .innerJoin('users', 'users.username', 'sessions.username')
      .select(['users.username', 'users.role'])
      .where('sessions.id_hash', '=', check.hash)
      .where('sessions.expires_at', '>', check.now)
      .executeTakeFirst();
    return principal ? { principal, rows: (await db.executeQuery(page)).rows } : null;
  }
  const order = sql.join(orderBy.map((column) => sql`${sql.ref(`listed.${column}`)} desc`));
  const { rows } = await sql<SessionColumns & Nullable<Row>>`${mark ? prepared : sql``}
    select u.username as session_username, u.role as session_role, listed.*
    from sessions as s
    inner join users as u on u.username = s.username
    left join ${page} as listed on 1 = 1
    where s.id_hash = ${check.hash} and s.expires_at > ${check.now}
    order by ${order}`.execute(db);
  const first = rows[0];
  if (first === undefined) return null;
  const principal = { username: first.session_username, role: first.session_role };
  if (first.id === null) return { principal, rows: [] };
  // Each row also carries the session's two columns, which the caller does not read.
  return { principal, rows: rows as Row[] };
}
