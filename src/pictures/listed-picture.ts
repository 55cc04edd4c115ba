/**
 * A page of pictures in one statement: the columns a gallery page shows, of `pictures as p`
 * left-joined to `picture_facts as f`, and the row turned into the API's picture with its
 * facts. Only these columns are read: `p.*` also carried the HLC columns and, on PostgreSQL,
 * the `search` tsvector, all parsed into strings for every row and thrown away.
 *
 * The view is the one `toPicture(state)` gives for a visible picture (alive, so with its info):
 * a text register without an HLC is stored as NULL and shown as '', and `updated_at` is
 * written by `save` as the wall time of `lastChangeHlc(state)`, which is `updatedAt`. A test
 * compares the two views over updated, deleted and restored pictures on both engines.
 */
import type { Picture } from './picture.repository.js';
import type { PicturesTable } from '../storage/metadata/schema.js';
import { NO_FACTS, type PhotoFacts } from './core/photo-facts.js';

/** A picture as the API shows it, with its facts (all null when not derived yet). */
export type PictureWithFacts = Picture & PhotoFacts;

/** The selection of a picture's API view from `pictures as p` (an album's page). */
export const VIEW_COLUMNS = [
  'p.id as id',
  'p.title as title',
  'p.category as category',
  'p.descr as descr',
  'p.content_type as content_type',
  'p.size as size',
  'p.width as width',
  'p.height as height',
  'p.owner as owner',
  'p.origin_name as origin_name',
  'p.created_at as created_at',
  'p.updated_at as updated_at',
] as const;

/** The selection for `pictures as p` left-joined to `picture_facts as f`. */
export const LISTED_COLUMNS = [...VIEW_COLUMNS, 'f.facts as facts'] as const;

/** A row of VIEW_COLUMNS: the table's own column types. */
export type ViewRow = Pick<
  PicturesTable,
  | 'id'
  | 'title'
  | 'category'
  | 'descr'
  | 'content_type'
  | 'size'
  | 'width'
  | 'height'
  | 'owner'
  | 'origin_name'
  | 'created_at'
  | 'updated_at'
>;

/** A row of LISTED_COLUMNS: the view's, and the facts (null: not derived). */
export type ListedRow = ViewRow & { facts: string | null };

/** The API view of a row of VIEW_COLUMNS (a visible picture: alive, so with its info). */
export function viewedPicture(row: ViewRow): Picture {
  if (row.updated_at === null) throw new Error(`Visible picture ${row.id} has no info`);
  return {
    id: row.id,
    title: row.title ?? '',
    category: row.category ?? '',
    desc: row.descr ?? '',
    contentType: row.content_type ?? 'application/octet-stream',
    size: row.size ?? 0,
    width: row.width ?? 0,
    height: row.height ?? 0,
    owner: row.owner ?? '',
    origin: row.origin_name ?? '',
    createdAt: new Date(row.created_at ?? 0).toISOString(),
    updatedAt: new Date(row.updated_at).toISOString(),
  };
}

export function listedPicture(row: ListedRow): PictureWithFacts {
  const picture = viewedPicture(row);
  return { ...picture, ...(row.facts === null ? NO_FACTS : (JSON.parse(row.facts) as PhotoFacts)) };
}
