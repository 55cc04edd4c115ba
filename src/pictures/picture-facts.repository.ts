/**
 * Photo facts on the metadata store (table `picture_facts`), and the timeline's queries: the
 * visible pictures ordered by date taken (upload time when unknown) and their count per month.
 * Facts are derived at each node from the bytes it stores (./picture-facts.service.ts); they
 * are never written by an operation, so no transaction of the op log needs them.
 */
import { sql, type Kysely } from 'kysely';
import type { MetadataStore } from '../storage/metadata/dialect.js';
import type { Schema } from '../storage/metadata/schema.js';
import { takenKey, type PhotoFacts } from './core/photo-facts.js';

/** A position in the timeline: the sort key (ms) and id of the last picture of a page. */
export interface TakenCursor {
  readonly key: number;
  readonly id: string;
}

export interface TimelineQuery {
  readonly category?: string | undefined;
  readonly q?: string | undefined;
  readonly limit: number;
  readonly cursor?: TakenCursor | undefined;
}

export interface TimelineEntry {
  readonly id: string;
  readonly key: number;
}

/** The timeline's order: the date taken (local time read as UTC), else the upload time. */
const SORT_KEY = sql<number>`COALESCE(f.taken_key, p.created_at)`;

export class PictureFactsRepository {
  constructor(private readonly store: MetadataStore) {}

  /** Records the facts of a picture. Idempotent: the same facts give the same row. */
  async save(id: string, facts: PhotoFacts, reader: number): Promise<void> {
    await this.saveIn(this.store.db, id, facts, reader);
  }

  /** `save` inside the caller's transaction (the upload's `picture.create`). */
  async saveIn(trx: Kysely<Schema>, id: string, facts: PhotoFacts, reader: number): Promise<void> {
    const row = { id, taken_key: takenKey(facts.takenAt), facts: JSON.stringify(facts), reader };
    await trx
      .insertInto('picture_facts')
      .values(row)
      .onConflict((oc) =>
        oc.column('id').doUpdateSet({
          taken_key: row.taken_key,
          facts: row.facts,
          reader: row.reader,
        }),
      )
      .execute();
  }

  async get(id: string): Promise<PhotoFacts | null> {
    const row = await this.store.db
      .selectFrom('picture_facts')
      .select('facts')
      .where('id', '=', id)
      .executeTakeFirst();
    return row ? (JSON.parse(row.facts) as PhotoFacts) : null;
  }

  /** The facts of each of `ids` that has them. */
  async forIds(ids: readonly string[]): Promise<Map<string, PhotoFacts>> {
    const found = new Map<string, PhotoFacts>();
    if (ids.length === 0) return found;
    const rows = await this.store.db
      .selectFrom('picture_facts')
      .select(['id', 'facts'])
      .where('id', 'in', [...ids])
      .execute();
    for (const row of rows) found.set(row.id, JSON.parse(row.facts) as PhotoFacts);
    return found;
  }

  /**
   * Visible pictures (alive, bytes here), newest taken first, after `cursor`: a page is the
   * pictures strictly after the last one shown in (sort key, id) order, so pictures arriving
   * meanwhile never shift or repeat what a client has already paged through. A picture whose
   * facts are not derived yet sorts by its upload time, as it will after (no EXIF date) or
   * moves once derived.
   */
  async timeline(query: TimelineQuery): Promise<TimelineEntry[]> {
    const key = SORT_KEY;
    let select = this.visible(this.store.db, query.category, query.q).select([
      'p.id as id',
      key.as('key'),
    ]);
    const cursor = query.cursor;
    if (cursor) {
      select = select.where((eb) =>
        eb.or([
          eb(key, '<', cursor.key),
          eb.and([eb(key, '=', cursor.key), eb('p.id', '<', cursor.id)]),
        ]),
      );
    }
    const rows = await select
      .orderBy(key, 'desc')
      .orderBy('p.id', 'desc')
      .limit(query.limit)
      .execute();
    return rows.map((r) => ({ id: r.id, key: r.key }));
  }

  /** The sort key of every visible picture (the month index is made from them). */
  async sortKeys(category?: string): Promise<number[]> {
    const rows = await this.visible(this.store.db, category, undefined)
      .select(SORT_KEY.as('key'))
      .execute();
    return rows.map((r) => r.key);
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

  private visible(db: Kysely<Schema>, category: string | undefined, q: string | undefined) {
    let select = db
      .selectFrom('pictures as p')
      .leftJoin('picture_facts as f', 'f.id', 'p.id')
      .where('p.alive', '=', 1)
      .where('p.has_blob', '=', 1);
    if (category !== undefined) select = select.where('p.category', '=', category);
    const match = q === undefined ? null : this.store.dialect.pictureMatch('p', q);
    if (match !== null) select = select.where(match);
    return select;
  }
}

/** `YYYY-MM` of a sort key (a local time read as UTC, or an upload time in UTC). */
export function monthOf(key: number): string {
  return new Date(key).toISOString().slice(0, 7);
}

/** Counts per month, newest first. */
export function monthCounts(keys: readonly number[]): { month: string; count: number }[] {
  const counts = new Map<string, number>();
  for (const key of keys) {
    const month = monthOf(key);
    counts.set(month, (counts.get(month) ?? 0) + 1);
  }
  return [...counts]
    .sort(([a], [b]) => b.localeCompare(a))
    .map(([month, count]) => ({ month, count }));
}
