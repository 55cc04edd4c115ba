/**
 * The gallery's filter, one rule for every query that lists or counts pictures (a page by
 * upload time or by date taken, PostgreSQL's JSON page, the month index): a category, and a
 * search `q` whose words must all match (dialect's `pictureMatch`). A search with no word to
 * look for (only symbols, say `%_'`) matches nothing: it must never widen to the whole library.
 */
import { sql, type RawBuilder, type SqlBool } from 'kysely';
import type { MetadataDialect } from '../storage/metadata/dialect.js';

export interface PictureFilter {
  readonly category?: string | undefined;
  /** Search text; undefined or blank: no search. */
  readonly q?: string | undefined;
}

/** Whether `q` asks for a search at all (text other than white space). */
export function isSearch(q: string | undefined): q is string {
  return q !== undefined && q.trim() !== '';
}

/**
 * The condition of the search `q` on the `pictures` row named `table`: null when there is no
 * search, a condition nothing meets when `q` has no words (letters or digits).
 */
export function searchCondition(
  dialect: MetadataDialect,
  table: string,
  q: string | undefined,
): RawBuilder<SqlBool> | null {
  if (!isSearch(q)) return null;
  return dialect.pictureMatch(table, q) ?? sql<SqlBool>`1 = 0`;
}
