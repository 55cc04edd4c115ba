/**
 * `GET /api/pictures`: one page of the gallery, by upload time or by date taken. Where the store
 * builds the page's JSON (PostgreSQL: ../../pictures/gallery-json.repository.ts) the answer is
 * that text, wrapped with the next page's cursor and sent as it is; elsewhere (SQLite) it is
 * the pictures as objects, which the route's zod serializer checks and writes. Both give the
 * same bytes for the same rows (gallery-json.repository.test.ts).
 */
import type { z } from 'zod';
import type { GalleryJsonPage, GalleryJsonQuery } from '../../pictures/gallery-json.repository.js';
import type { PictureWithFacts } from '../../pictures/listed-picture.js';
import type { PictureQuery } from '../../pictures/picture.repository.js';
import type { TimelineEntry, TimelineQuery } from '../../pictures/picture-facts.repository.js';
import type { PictureList, PictureListQuery } from '../schemas.js';
import {
  decodeCursor,
  decodeTakenCursor,
  encodeCursor,
  encodeKeyCursor,
  encodeTakenCursor,
} from './cursor.js';

/** Where a page is read from: the services' three reads. */
export interface PageSource {
  pageJson(query: GalleryJsonQuery): Promise<GalleryJsonPage | null>;
  list(query: PictureQuery): Promise<PictureWithFacts[]>;
  timeline(query: TimelineQuery): Promise<TimelineEntry[]>;
}

/** The page as JSON text (to send as it is), or as the object zod serializes. */
export async function readPicturePage(
  source: PageSource,
  query: z.output<typeof PictureListQuery>,
): Promise<string | z.input<typeof PictureList>> {
  const { category, q, limit, cursor, sort } = query;
  let after: { key: number; id: string } | undefined;
  if (cursor !== undefined) {
    if (sort === 'taken') after = decodeTakenCursor(cursor);
    else {
      const decoded = decodeCursor(cursor);
      after = { key: decoded.createdAt, id: decoded.id };
    }
  }
  const json = await source.pageJson({ sort, category, q, limit, cursor: after });
  if (json !== null) {
    const next = json.next;
    const nextCursor =
      next === null
        ? 'null'
        : `"${sort === 'taken' ? encodeTakenCursor(next) : encodeKeyCursor(next)}"`;
    return `{"items":[${json.items}],"nextCursor":${nextCursor}}`;
  }
  if (sort === 'taken') {
    const entries = await source.timeline({ category, q, limit: limit + 1, cursor: after });
    const page = entries.slice(0, limit);
    const last = page.at(-1);
    return {
      items: page.map((e) => e.picture),
      nextCursor: entries.length > limit && last ? encodeTakenCursor(last) : null,
    };
  }
  const items = await source.list({
    category,
    q,
    limit: limit + 1,
    cursor: after && { createdAt: after.key, id: after.id },
  });
  const page = items.slice(0, limit);
  const last = page.at(-1);
  return {
    items: page,
    nextCursor: items.length > limit && last ? encodeCursor(last) : null,
  };
}
