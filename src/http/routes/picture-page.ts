/**
 * `GET /api/pictures`: one page of the gallery, by upload time or by date taken. Where the store
 * builds the page's JSON (PostgreSQL: ../../pictures/gallery-json.repository.ts) the answer is
 * that text, wrapped with the next page's cursor and sent as it is; elsewhere (SQLite) it is
 * the pictures as objects, which the route's zod serializer checks and writes. Both give the
 * same bytes for the same rows (gallery-json.repository.test.ts).
 */
import type { z } from 'zod';
import type { Principal } from '../../accounts/principal.js';
import type {
  GalleryJsonPage,
  GalleryJsonQuery,
  SessionPage,
} from '../../pictures/gallery-json.repository.js';
import type { PictureWithFacts } from '../../pictures/listed-picture.js';
import type { PictureQuery } from '../../pictures/picture.repository.js';
import type { TimelineEntry, TimelineQuery } from '../../pictures/picture-facts.repository.js';
import { PictureListQuery, type PictureList } from '../schemas.js';
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

type PageQuery = z.output<typeof PictureListQuery>;

/** The page as JSON text (to send as it is), or as the object zod serializes. */
export async function readPicturePage(
  source: PageSource,
  query: PageQuery,
): Promise<string | z.input<typeof PictureList>> {
  const { category, q, limit, sort } = query;
  const wanted = galleryQuery(query);
  const json = await source.pageJson(wanted);
  if (json !== null) return pageText(json, sort);
  const after = wanted.cursor;
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

/** A session cookie's principal with the page, read by the store in one statement. */
export type SessionPageRead = (
  session: string,
  query: GalleryJsonQuery,
) => Promise<SessionPage | null>;

/**
 * For the auth hook (auth.ts, `sessionWithPage`): the principal of a session cookie's value
 * and the page `rawQuery` asks for as JSON text, in one statement (PostgreSQL): a scaled
 * site's gallery page is then one round trip. Null: the session is not valid. Undefined: the
 * query is not one the route accepts (the session is then checked alone, and the route answers
 * its 400); the page is null when the store leaves it to the object path (`readPicturePage`).
 */
export async function readSessionPage(
  read: SessionPageRead,
  session: string,
  rawQuery: unknown,
): Promise<{ principal: Principal; page: string | null } | null | undefined> {
  const parsed = PictureListQuery.safeParse(rawQuery);
  if (!parsed.success) return undefined;
  let wanted: GalleryJsonQuery;
  try {
    wanted = galleryQuery(parsed.data);
  } catch {
    return undefined; // a cursor that does not decode: the route says so
  }
  const found = await read(session, wanted);
  if (found === null) return null;
  return {
    principal: found.principal,
    page: found.page === null ? null : pageText(found.page, parsed.data.sort),
  };
}

/** The store's form of the route's query (the cursor decoded: BadRequestError if it is not one). */
function galleryQuery(query: PageQuery): GalleryJsonQuery {
  const { category, q, limit, cursor, sort } = query;
  let after: { key: number; id: string } | undefined;
  if (cursor !== undefined) {
    if (sort === 'taken') after = decodeTakenCursor(cursor);
    else {
      const decoded = decodeCursor(cursor);
      after = { key: decoded.createdAt, id: decoded.id };
    }
  }
  return { sort, category, q, limit, cursor: after };
}

/** The answer's text around a page the store wrote. */
function pageText(json: GalleryJsonPage, sort: PageQuery['sort']): string {
  const next = json.next;
  const nextCursor =
    next === null
      ? 'null'
      : `"${sort === 'taken' ? encodeTakenCursor(next) : encodeKeyCursor(next)}"`;
  return `{"items":[${json.items}],"nextCursor":${nextCursor}}`;
}
