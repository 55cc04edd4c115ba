/**
 * Statements prepared once per PostgreSQL connection. node-postgres sends every statement
 * unnamed, which PostgreSQL parses, analyses and plans on each execution: for a gallery page
 * and its session check that was a third of PostgreSQL's CPU from a few hundred pictures on
 * (0.28–0.37 ms unnamed, 0.20–0.23 named) and more with fewer (docs/benchmarks.md,
 * "per-request cost"). A statement whose text starts with `PREPARED` (or `select PREPARED`, as
 * Kysely's `modifyFront` writes it) is sent named instead: parsed once per connection, and
 * planned by PostgreSQL's plan cache (a generic plan only where it costs no more than the
 * custom ones).
 *
 * Only statements whose text is one of a few fixed variants are marked (a name per distinct
 * text, kept by each connection for its life): never one whose text varies with the data, as
 * an `IN` list of any length would. On SQLite the mark is a comment and nothing else.
 */
import { createHash } from 'node:crypto';
import { sql } from 'kysely';
import type pg from 'pg';

export const PREPARED_MARK = '/* prepared */';

/** The mark, for `sql` templates (first) and `modifyFront` (after `select`). */
export const prepared = sql.raw(PREPARED_MARK);

const SELECT_MARKED = `select ${PREPARED_MARK}`;

/** The statement's name: from its text, so that two texts never share one. */
const names = new Map<string, string>();

function nameOf(text: string): string {
  let name = names.get(text);
  if (name === undefined) {
    name = `mosaic_${createHash('sha256').update(text).digest('hex').slice(0, 32)}`;
    names.set(text, name);
  }
  return name;
}

type Query = (...args: unknown[]) => unknown;

/** On a new pooled connection: its marked statements go named (prepared once), others as they were. */
export function prepareMarked(client: pg.PoolClient): void {
  const query = client.query.bind(client) as Query;
  const marked: Query = (...args) => {
    const [text, values] = args;
    if (
      args.length === 2 &&
      typeof text === 'string' &&
      (text.startsWith(PREPARED_MARK) || text.startsWith(SELECT_MARKED))
    ) {
      return query({ name: nameOf(text), text, values });
    }
    return query(...args);
  };
  (client as unknown as { query: Query }).query = marked;
}
