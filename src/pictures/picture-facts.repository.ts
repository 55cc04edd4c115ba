/**
 * Photo facts on the metadata store (table `picture_facts`), and the timeline's queries: the
 * visible pictures ordered by date taken (upload time when unknown) and their count per month.
 * Facts are derived at each node from the bytes it stores (./picture-facts.service.ts); they
 * are never written by an operation, so no transaction of the op log needs them.
 */
import { sql, type Kysely, type QueryCreator } from 'kysely';
import type { MetadataStore } from '../storage/metadata/dialect.js';
import { CompiledStatements } from '../storage/metadata/compiled-statements.js';
import { afterCursor } from '../storage/metadata/keyset.js';
import { prepared } from '../storage/metadata/prepared.js';
import type { Schema } from '../storage/metadata/schema.js';
import { canonicalFacts, takenKey, type PhotoFacts } from './core/photo-facts.js';
import {
  LISTED_COLUMNS,
  listedPicture,
  type ListedRow,
  type PictureWithFacts,
} from './listed-picture.js';
import { isSearch, searchCondition, type PictureFilter } from './picture-filter.js';

function timelineEntry(row: ListedRow & { key: number }): TimelineEntry {
  return { id: row.id, key: row.key, picture: listedPicture(row) };
}

/** A position in the timeline: the sort key (ms) and id of the last picture of a page. */
export interface TakenCursor {
  readonly key: number;
  readonly id: string;
}

export interface TimelineQuery extends PictureFilter {
  readonly limit: number;
  readonly cursor?: TakenCursor | undefined;
}

export interface TimelineEntry {
  readonly id: string;
  readonly key: number;
  /** The picture as a page shows it, read in the same statement. */
  readonly picture: PictureWithFacts;
}

/**
 * The timeline's order: the date taken (local time read as UTC), else the upload time. Written
 * exactly as in the indexes pictures_by_taken and pictures_by_category_taken (migration 14), so
 * that both engines walk an index instead of sorting every picture.
 */
const SORT_KEY = sql<number>`COALESCE(p.taken_key, p.created_at)`;

export class PictureFactsRepository {
  /** `saveIn`'s statements, run once per picture an upload or a catch-up brings. */
  private readonly statements = new CompiledStatements();

  constructor(private readonly store: MetadataStore) {}

  /** Records the facts of a picture. Idempotent: the same facts give the same row. */
  async save(id: string, facts: PhotoFacts, reader: number): Promise<void> {
    await this.saveIn(this.store.db, id, facts, reader);
  }

  /** `save` inside the caller's transaction (the upload's `picture.create`). */
  async saveIn(trx: Kysely<Schema>, id: string, facts: PhotoFacts, reader: number): Promise<void> {
    const row = {
      id,
      taken_key: takenKey(facts.takenAt),
      facts: JSON.stringify(canonicalFacts(facts)),
      reader,
    };
    const upsert = (db: QueryCreator<Schema>) =>
      db
        .insertInto('picture_facts')
        .values(row)
        .onConflict((oc) =>
          oc.column('id').doUpdateSet({
            taken_key: row.taken_key,
            facts: row.facts,
            reader: row.reader,
          }),
        );
    // The copy the timeline's index reads (the row exists: facts follow their picture.create).
    const copy = { taken_key: row.taken_key };
    const upserted = [id, row.taken_key, row.facts, reader, row.taken_key, row.facts, reader];
    if (this.store.dialect.writableCtes) {
      // One statement, one round trip (an upload's transaction holds the op-clock lock).
      await this.statements.run(
        trx,
        'facts.save.cte',
        () =>
          trx.with('saved_facts', upsert).updateTable('pictures').set(copy).where('id', '=', id),
        [...upserted, row.taken_key, id],
      );
      return;
    }
    await this.statements.run(trx, 'facts.upsert', () => upsert(trx), upserted);
    await this.statements.run(
      trx,
      'facts.copy',
      () => trx.updateTable('pictures').set(copy).where('id', '=', id),
      [row.taken_key, id],
    );
  }

  async get(id: string): Promise<PhotoFacts | null> {
    const row = await this.store.db
      .selectFrom('picture_facts')
      .select('facts')
      .where('id', '=', id)
      .executeTakeFirst();
    return row ? (JSON.parse(row.facts) as PhotoFacts) : null;
  }

  /**
   * Visible pictures (alive, bytes here), newest taken first, after `cursor`: a page is the
   * pictures strictly after the last one shown in (sort key, id) order, so pictures arriving
   * meanwhile never shift or repeat what a client has already paged through. A picture whose
   * facts are not derived yet sorts by its upload time, as it will after (no EXIF date) or
   * moves once derived.
   */
  async timeline(query: TimelineQuery): Promise<TimelineEntry[]> {
    return (await this.timelineQuery(query).execute()).map(timelineEntry);
  }

  private timelineQuery(query: TimelineQuery) {
    const key = SORT_KEY;
    let select = this.visible(this.store.db, query.category, query.q)
      .$if(!isSearch(query.q), (qb) => qb.modifyFront(prepared)) // a search's plan: its words
      .select([...LISTED_COLUMNS, key.as('key')]);
    const cursor = query.cursor;
    if (cursor) select = select.where(afterCursor(key, sql.ref('p.id'), cursor));
    return select.orderBy(key, 'desc').orderBy('p.id', 'desc').limit(query.limit);
  }

  /**
   * How many visible pictures each month of the timeline holds, newest month first, among those
   * `filter` lists (the gallery's category and search, as `timeline` pages them). One query
   * per month that has pictures, each an index range: the newest key left gives the month, the
   * query counts that month and finds the newest key before it. Never a pass over every picture
   * with a date function (that took 400 ms at 100 000 pictures; docs/architecture.md).
   */
  async months(filter: PictureFilter = {}): Promise<{ month: string; count: number }[]> {
    const db = this.store.db;
    const { category, q } = filter;
    // The newest key before a bound, as an index walk from it (PostgreSQL's max() over the
    // expression scanned the whole range instead).
    const newestBefore = (bound: number | null) =>
      this.visiblePictures(db, category, q)
        .select(SORT_KEY.as('key'))
        .$if(bound !== null, (qb) => qb.where(SORT_KEY, '<', bound ?? 0))
        .orderBy(SORT_KEY, 'desc')
        .limit(1);
    const newest = await newestBefore(null).executeTakeFirst();
    const months: { month: string; count: number }[] = [];
    let top = toNumber(newest?.key);
    while (top !== null) {
      const start = monthStart(top);
      const row = await this.visiblePictures(db, category, q)
        .select((eb) => [
          eb.fn.countAll<number | string>().as('count'),
          newestBefore(start).as('next'),
        ])
        .where(SORT_KEY, '>=', start)
        .where(SORT_KEY, '<=', top)
        .executeTakeFirst();
      months.push({ month: new Date(start).toISOString().slice(0, 7), count: Number(row?.count) });
      top = toNumber(row?.next);
    }
    return months;
  }

  /**
   * Visible pictures whose facts are missing or were derived by an older reader, oldest id
   * first after `afterId`: the background job's next batch (it resumes from any point).
   */
  async stale(
    reader: number,
    limit: number,
    afterId = '',
  ): Promise<{ id: string; contentType: string }[]> {
    const rows = await this.visible(this.store.db, undefined, undefined)
      .select(['p.id as id', 'p.content_type as contentType'])
      .where((eb) => eb.or([eb('f.id', 'is', null), eb('f.reader', '<', reader)]))
      .where('p.id', '>', afterId)
      .orderBy('p.id')
      .limit(limit)
      .execute();
    return rows.map((r) => ({ id: r.id, contentType: r.contentType ?? '' }));
  }

  /** Visible pictures (alive, bytes here), with their facts when derived. */
  private visible(db: Kysely<Schema>, category: string | undefined, q: string | undefined) {
    return this.visiblePictures(db, category, q).leftJoin('picture_facts as f', 'f.id', 'p.id');
  }

  /** Visible pictures alone: the conditions of the timeline's partial indexes. */
  private visiblePictures(db: Kysely<Schema>, category: string | undefined, q: string | undefined) {
    let select = db
      .selectFrom('pictures as p')
      .where('p.alive', '=', 1)
      .where('p.has_blob', '=', 1);
    if (category !== undefined) select = select.where('p.category', '=', category);
    const match = searchCondition(this.store.dialect, 'p', q);
    if (match !== null) select = select.where(match);
    return select;
  }
}

/** The first millisecond of the UTC month of `key`. */
function monthStart(key: number): number {
  const date = new Date(key);
  return Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), 1);
}

/** A number from the database (PostgreSQL's bigint aggregates arrive as strings). */
function toNumber(value: unknown): number | null {
  return value === null || value === undefined ? null : Number(value);
}
