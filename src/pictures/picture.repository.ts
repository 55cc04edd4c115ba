import type { Db } from '../db/database.js';
import { decodeHlc } from '../core/hlc.js';
import { isAlive, lastChangeHlc, type PictureState } from './picture.state.js';

/** A picture as the API shows it. */
export interface Picture {
  id: string;
  title: string;
  category: string;
  desc: string;
  contentType: string;
  size: number;
  width: number;
  height: number;
  owner: string;
  origin: string;
  createdAt: string;
  updatedAt: string;
}

export interface StoredPicture {
  readonly state: PictureState;
  readonly hasBlob: boolean;
}

export interface PictureQuery {
  readonly category?: string | undefined;
  readonly q?: string | undefined;
  readonly limit: number;
  readonly cursor?: { readonly createdAt: number; readonly id: string } | undefined;
}

/** The metadata store's narrow interface for pictures (SQLite below; see docs/architecture.md). */
export interface PictureRepository {
  get(id: string): StoredPicture | null;
  save(state: PictureState, hasBlob: boolean): void;
  setHasBlob(id: string, hasBlob: boolean): void;
  /** Every picture's id, whether it is alive and whether the row says its bytes are here. */
  byteFlags(): { id: string; alive: boolean; hasBlob: boolean }[];
  /** Visible pictures (alive, bytes present), newest first. */
  list(query: PictureQuery): Picture[];
  /** Visible pictures: count and total bytes. */
  totals(): { count: number; bytes: number };
}

interface PictureRow {
  id: string;
  content_type: string | null;
  size: number | null;
  width: number | null;
  height: number | null;
  owner: string | null;
  origin_name: string | null;
  created_at: number | null;
  info_hlc: string | null;
  title: string | null;
  title_hlc: string | null;
  category: string | null;
  category_hlc: string | null;
  descr: string | null;
  desc_hlc: string | null;
  live_hlc: string | null;
  deleted_hlc: string | null;
  has_blob: number;
}

export class SqlitePictureRepository implements PictureRepository {
  private readonly getStmt;
  private readonly saveStmt;
  private readonly hasBlobStmt;
  private readonly totalsStmt;

  constructor(private readonly db: Db) {
    this.getStmt = db.prepare('SELECT * FROM pictures WHERE id = ?');
    this.saveStmt = db.prepare(`
      INSERT INTO pictures (id, content_type, size, width, height, owner, origin_name, created_at,
        info_hlc, title, title_hlc, category, category_hlc, descr, desc_hlc, live_hlc,
        deleted_hlc, updated_at, alive, has_blob)
      VALUES (@id, @content_type, @size, @width, @height, @owner, @origin_name, @created_at,
        @info_hlc, @title, @title_hlc, @category, @category_hlc, @descr, @desc_hlc, @live_hlc,
        @deleted_hlc, @updated_at, @alive, @has_blob)
      ON CONFLICT (id) DO UPDATE SET
        content_type = excluded.content_type, size = excluded.size, width = excluded.width,
        height = excluded.height, owner = excluded.owner, origin_name = excluded.origin_name,
        created_at = excluded.created_at, info_hlc = excluded.info_hlc, title = excluded.title,
        title_hlc = excluded.title_hlc, category = excluded.category,
        category_hlc = excluded.category_hlc, descr = excluded.descr, desc_hlc = excluded.desc_hlc,
        live_hlc = excluded.live_hlc, deleted_hlc = excluded.deleted_hlc,
        updated_at = excluded.updated_at, alive = excluded.alive, has_blob = excluded.has_blob`);
    this.hasBlobStmt = db.prepare('UPDATE pictures SET has_blob = ? WHERE id = ?');
    this.totalsStmt = db.prepare(
      'SELECT COUNT(*) AS count, COALESCE(SUM(size), 0) AS bytes FROM pictures WHERE alive = 1 AND has_blob = 1',
    );
  }

  get(id: string): StoredPicture | null {
    const row = this.getStmt.get(id) as PictureRow | undefined;
    return row ? { state: rowToState(row), hasBlob: row.has_blob === 1 } : null;
  }

  save(state: PictureState, hasBlob: boolean): void {
    const info = state.info;
    const changed = lastChangeHlc(state);
    this.saveStmt.run({
      id: state.id,
      content_type: info?.contentType ?? null,
      size: info?.size ?? null,
      width: info?.width ?? null,
      height: info?.height ?? null,
      owner: info?.owner ?? null,
      origin_name: info?.originName ?? null,
      created_at: info?.createdAt ?? null,
      info_hlc: state.infoHlc,
      title: state.title?.value ?? null,
      title_hlc: state.title?.hlc ?? null,
      category: state.category?.value ?? null,
      category_hlc: state.category?.hlc ?? null,
      descr: state.desc?.value ?? null,
      desc_hlc: state.desc?.hlc ?? null,
      live_hlc: state.liveHlc,
      deleted_hlc: state.deletedHlc,
      updated_at: changed ? decodeHlc(changed).wall : null,
      alive: isAlive(state) ? 1 : 0,
      has_blob: hasBlob ? 1 : 0,
    });
  }

  setHasBlob(id: string, hasBlob: boolean): void {
    this.hasBlobStmt.run(hasBlob ? 1 : 0, id);
  }

  list(query: PictureQuery): Picture[] {
    const where = ['p.alive = 1', 'p.has_blob = 1'];
    const params: (string | number)[] = [];
    if (query.category !== undefined) {
      where.push('p.category = ?');
      params.push(query.category);
    }
    const match = query.q === undefined ? null : toFtsQuery(query.q);
    if (match !== null) {
      where.push('p.rowid IN (SELECT rowid FROM pictures_fts WHERE pictures_fts MATCH ?)');
      params.push(match);
    }
    if (query.cursor) {
      where.push('(p.created_at < ? OR (p.created_at = ? AND p.id < ?))');
      params.push(query.cursor.createdAt, query.cursor.createdAt, query.cursor.id);
    }
    params.push(query.limit);
    const rows = this.db
      .prepare(
        `SELECT p.* FROM pictures p WHERE ${where.join(' AND ')}
         ORDER BY p.created_at DESC, p.id DESC LIMIT ?`,
      )
      .all(...params) as PictureRow[];
    return rows.map((row) => {
      const picture = toPicture(rowToState(row));
      if (!picture) throw new Error(`Visible picture ${row.id} has no info`);
      return picture;
    });
  }

  totals(): { count: number; bytes: number } {
    return this.totalsStmt.get() as { count: number; bytes: number };
  }

  byteFlags(): { id: string; alive: boolean; hasBlob: boolean }[] {
    const rows = this.db.prepare('SELECT id, alive, has_blob FROM pictures').all() as {
      id: string;
      alive: number;
      has_blob: number;
    }[];
    return rows.map((r) => ({ id: r.id, alive: r.alive === 1, hasBlob: r.has_blob === 1 }));
  }
}

/** The API view of a state, or null when the picture has no info yet. */
export function toPicture(state: PictureState): Picture | null {
  const info = state.info;
  const changed = lastChangeHlc(state);
  if (!info || !changed) return null;
  return {
    id: state.id,
    title: state.title?.value ?? '',
    category: state.category?.value ?? '',
    desc: state.desc?.value ?? '',
    contentType: info.contentType,
    size: info.size,
    width: info.width,
    height: info.height,
    owner: info.owner,
    origin: info.originName,
    createdAt: new Date(info.createdAt).toISOString(),
    updatedAt: new Date(decodeHlc(changed).wall).toISOString(),
  };
}

/**
 * Turns free text into an FTS5 query: every word must match, as a prefix, in the title or the
 * description. Words are quoted, so FTS5 operators typed by a user are plain text.
 */
export function toFtsQuery(text: string): string | null {
  const words = text.match(/[\p{L}\p{N}]+/gu);
  if (!words) return null;
  return words.map((w) => `"${w}"*`).join(' ');
}

function rowToState(row: PictureRow): PictureState {
  const reg = (value: string | null, hlc: string | null) =>
    hlc === null ? null : { value: value ?? '', hlc };
  return {
    id: row.id,
    info:
      row.info_hlc === null
        ? null
        : {
            contentType: row.content_type ?? 'application/octet-stream',
            size: row.size ?? 0,
            width: row.width ?? 0,
            height: row.height ?? 0,
            owner: row.owner ?? '',
            originName: row.origin_name ?? '',
            createdAt: row.created_at ?? 0,
          },
    infoHlc: row.info_hlc,
    title: reg(row.title, row.title_hlc),
    category: reg(row.category, row.category_hlc),
    desc: reg(row.descr, row.desc_hlc),
    liveHlc: row.live_hlc,
    deletedHlc: row.deleted_hlc,
  };
}
