/**
 * A gallery page built as JSON text by PostgreSQL (issue 13): the page's pictures, each already
 * in the API's form, joined into one text column of one row, which the node passes into the
 * response body as it is. The object path (`SqlPictureRepository.list`,
 * `PictureFactsRepository.timeline`, then zod's serializer) had pg parse 51 rows of 13 columns,
 * the node build each picture's view (two dates, the facts' JSON.parse) and zod check and copy
 * it before JSON.stringify: most of a scaled node's CPU per page (docs/benchmarks.md, "Gallery
 * page as JSON from PostgreSQL").
 *
 * The text is byte for byte what the object path serializes (test:
 * http/routes/picture-page.test.ts, against SQLite's object path on the same rows):
 * - each picture's view is kept by PostgreSQL in `pictures.view_json` (a generated column,
 *   migration 15), written key by key in the order of zod's `Picture` schema, strings by
 *   `to_json`, which escapes as JSON.stringify does (`"`, `\`, control characters as
 *   `\b \f \n \r \t` or lower-case `\u00xx`), integers as PostgreSQL prints them;
 * - dates are `to_char` of the milliseconds in UTC, as `toISOString` writes them, for times in
 *   1970..2223 (below 2^53 µs, where the interval's float product is exact);
 * - the facts are their stored text, written by `PictureFactsRepository.save` as
 *   `JSON.stringify(canonicalFacts(...))` in the schema's key order, spliced after the view.
 * A page holding a row outside these cases (a time out of that range, a facts text that does
 * not start as a canonical one, a visible picture without `updated_at`) answers null: the
 * caller takes the object path, which answers as it always did (an error for the last).
 *
 * SQLite (the default node) keeps the object path: it has no JSON builder that writes numbers
 * as JavaScript does, and its page costs the node no protocol parsing.
 */
import { sql, type RawBuilder } from 'kysely';
import type { Principal } from '../accounts/principal.js';
import type { MetadataStore } from '../storage/metadata/dialect.js';
import { CompiledStatements } from '../storage/metadata/compiled-statements.js';
import { afterCursor } from '../storage/metadata/keyset.js';
import { prepared } from '../storage/metadata/prepared.js';
import { NO_FACTS } from './core/photo-facts.js';
import { searchCondition, type PictureFilter } from './picture-filter.js';

export interface GalleryJsonQuery extends PictureFilter {
  /** added: upload time; taken: date taken, else upload time (the timeline). */
  readonly sort: 'added' | 'taken';
  /** Pictures on the page (one more is read to learn whether a next page exists). */
  readonly limit: number;
  /** After this (sort key, id): the last picture of the previous page. */
  readonly cursor?: { readonly key: number; readonly id: string } | undefined;
}

export interface GalleryJsonPage {
  /** The page's pictures as JSON objects joined by commas ('' when none). */
  readonly items: string;
  /** The sort key and id of the page's last picture when a next page exists, else null. */
  readonly next: { readonly key: number; readonly id: string } | null;
}

/** A session to check in the page's statement: its id's hash, live after `now`. */
export interface PageSession {
  readonly idHash: string;
  readonly now: number;
}

/** `pageForSession`'s answer for a live session; the page is null where `page` answers null. */
export interface SessionPage {
  readonly principal: Principal;
  readonly page: GalleryJsonPage | null;
}

/** The last millisecond whose microseconds (× 1000) stay below 2^53: 2223-07-07. */
const MAX_MS = 8_000_000_000_000;
const outOfRange = (column: string) => `${column} is null or ${column} not between 0 and ${MAX_MS}`;

/** What a picture without a facts row shows: NO_FACTS after the view's own keys. */
const NO_FACTS_TAIL = `,${JSON.stringify(NO_FACTS).slice(1)}`;
/** How every canonical facts text starts (canonicalFacts' first key). */
const FACTS_PREFIX = '{"takenAt":';

/**
 * A picture: its view as `viewedPicture` makes it, kept as JSON text by PostgreSQL in the
 * generated column `view_json` (migration 15 of postgres-migrations.ts: building it in the
 * page's statement cost PostgreSQL 0.23 ms a page against 0.12 to join the stored texts), then
 * the facts' keys.
 */
const ITEM = `p.view_json || coalesce(',' || substr(f.facts, 2), ${quote(NO_FACTS_TAIL)})`;

const ODD = `(${outOfRange('p.created_at')} or ${outOfRange('p.updated_at')}
  or (f.facts is not null and f.facts not like ${quote(`${FACTS_PREFIX}%`)}))`;

const SORT_KEYS = { added: 'p.created_at', taken: 'COALESCE(p.taken_key, p.created_at)' };

export class GalleryJsonRepository {
  private readonly statements = new CompiledStatements();

  constructor(private readonly store: MetadataStore) {}

  /** Whether this store builds pages (PostgreSQL); else `page` always answers null. */
  get available(): boolean {
    return this.store.dialect.name === 'postgres';
  }

  /** Visible pictures (alive, bytes here), newest first by `sort`; null: use the object path. */
  async page(query: GalleryJsonQuery): Promise<GalleryJsonPage | null> {
    if (!this.available) return null;
    const rows = await this.rows(query, null);
    const row = rows[0];
    return row ? pageOf(row, query.limit) : { items: '', next: null };
  }

  /**
   * The account of a live session and `page(query)`, in one statement: a scaled site's gallery
   * page is then one round trip to PostgreSQL, not two (docs/benchmarks.md, "The session in the
   * page's statement"). The session's conditions are `CredentialRepository.findSession`'s. Null:
   * the session is not live, and no page was built. Only where `available`.
   */
  async pageForSession(session: PageSession, query: GalleryJsonQuery): Promise<SessionPage | null> {
    if (!this.available) throw new Error('gallery pages are built by PostgreSQL only');
    const row = (await this.rows(query, session))[0];
    if (!row?.session_username || !row.session_role) return null;
    return {
      principal: { username: row.session_username, role: row.session_role },
      page: pageOf(row, query.limit),
    };
  }

  private async rows(query: GalleryJsonQuery, session: PageSession | null): Promise<PageRow[]> {
    const { sort, category, cursor, limit } = query;
    const match = searchCondition(this.store.dialect, 'p', query.q);
    if (match !== null) {
      // A search: its plan depends on its words, so it is neither cached nor prepared.
      return (await pageStatement(query, match, sql``, session).execute(this.store.db)).rows;
    }
    // A fixed text per form, compiled once and prepared on each connection.
    const key = `${session ? 's' : ''}:${sort}:${category === undefined ? '' : 'c'}:${cursor ? 'k' : ''}`;
    const parameters: unknown[] = session ? [session.idHash, session.now] : [];
    parameters.push(limit, limit, limit);
    if (category !== undefined) parameters.push(category);
    if (cursor) parameters.push(cursor.key, cursor.key, cursor.id);
    parameters.push(limit + 1);
    const build = () => ({
      compile: () => pageStatement(query, null, prepared, session).compile(this.store.db),
    });
    return (await this.statements.run(this.store.db, key, build, parameters)).rows;
  }
}

/**
 * The page's statement; with a session, the session's row joined to the page (exported for
 * the plan's test).
 */
export function pageStatement(
  query: GalleryJsonQuery,
  match: RawBuilder<unknown> | null,
  mark: RawBuilder<unknown>,
  session: PageSession | null,
): RawBuilder<PageRow> {
  const { limit, category, cursor } = query;
  const key = sql.raw<number | null>(SORT_KEYS[query.sort]);
  const where = [sql`p.alive = 1 and p.has_blob = 1`];
  if (category !== undefined) where.push(sql`p.category = ${category}`);
  if (match !== null) where.push(sql`${match}`);
  if (cursor) where.push(afterCursor(key, sql.ref('p.id'), cursor));
  // Refers to the session's row below, so that PostgreSQL can only build the page for a row of
  // it: no live session, no page (whatever plan it picks; test: gallery-json.repository.test.ts).
  if (session !== null) where.push(sql`s.username is not null`);
  const page = sql<PageRow>`select count(*) as n,
  string_agg(item, ',' order by rn) filter (where rn <= ${limit}) as items,
  max(k) filter (where rn = ${limit}) as last_key,
  max(id) filter (where rn = ${limit}) as last_id,
  bool_or(odd) as odd
from (
  select row_number() over (order by ${key} desc, p.id desc) as rn, ${key} as k, p.id as id,
    ${sql.raw(ODD)} as odd, ${sql.raw(ITEM)} as item
  from pictures p
  left join picture_facts f on f.id = p.id
  where ${sql.join(where, sql` and `)}
  order by ${key} desc, p.id desc
  limit ${limit + 1}
) page`;
  if (session === null) return sql<PageRow>`${mark} ${page}`;
  // The page joined to the session's row: no live session, no row.
  return sql<PageRow>`${mark} select s.username as session_username, s.role as session_role, g.*
from (
  select u.username, u.role from sessions se join users u on u.username = se.username
  where se.id_hash = ${session.idHash} and se.expires_at > ${session.now} and u.disabled = 0
) s
cross join lateral (${page}) g`;
}

/** A page's row as `page` answers it: null when a row needs the object path. */
function pageOf(row: PageRow, limit: number): GalleryJsonPage | null {
  if (row.odd === true) return null;
  const last = row.last_id;
  const next = row.n > limit && row.last_key !== null && last !== null;
  return {
    items: row.items ?? '',
    next: next ? { key: Number(row.last_key), id: last } : null,
  };
}

interface PageRow {
  session_username?: string | null;
  session_role?: Principal['role'] | null;
  n: number;
  items: string | null;
  last_key: number | null;
  last_id: string | null;
  odd: boolean | null;
}

function quote(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}
