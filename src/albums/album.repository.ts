import { sql, type Kysely } from 'kysely';
import { afterCursor } from '../storage/metadata/keyset.js';
import { prepared } from '../storage/metadata/prepared.js';
import type { MetadataDialect } from '../storage/metadata/dialect.js';
import type { Schema } from '../storage/metadata/schema.js';
import {
  LISTED_COLUMNS,
  listedPicture,
  type PictureWithFacts,
} from '../pictures/listed-picture.js';
import { isAlbumAlive, type AlbumState, type Register } from './core/album-state.js';

/** An album as a list shows it: its fields, how many visible pictures, the picture to show. */
export interface AlbumSummary {
  readonly id: string;
  readonly name: string;
  readonly desc: string;
  readonly owner: string;
  readonly createdAt: number;
  /** The cover chosen, if it is still a visible picture of the album; else its newest one. */
  readonly coverId: string | null;
  readonly count: number;
}

/** Where a page of an album's pictures ended: the last one's timeline key and id. */
export interface AlbumCursor {
  readonly key: number;
  readonly id: string;
}

export interface AlbumPage {
  readonly items: PictureWithFacts[];
  readonly next: AlbumCursor | null;
}

type Executor = Kysely<Schema>;

/** The timeline's order, as in PictureFactsRepository: the date taken, else the upload time. */
const TAKEN_KEY = sql<number>`COALESCE(p.taken_key, p.created_at)`;

/** Picture ids per query of `holding` (well under either dialect's bound on parameters). */
const HOLDING_CHUNK = 500;

/**
 * Albums and their pictures on the metadata store (SQLite or PostgreSQL). The album row holds
 * the merged state (core/album-state.ts), read, merged and written back by apply inside the
 * operation's transaction (locked on PostgreSQL); membership is one conditional upsert per
 * (album, picture), so it needs no lock. Only visible pictures (alive, bytes here) are listed.
 */
export class AlbumRepository {
  constructor(
    private readonly db: Kysely<Schema>,
    private readonly dialect: MetadataDialect,
  ) {}

  /**
   * The stored state; `forUpdate` inside apply's transaction (the row is merged and saved).
   * With `forUpdate` on PostgreSQL an empty row is inserted first, so that two processes
   * applying the first operations of one album concurrently queue on it rather than both
   * reading nothing and the second overwriting the first's merge.
   */
  async get(trx: Executor, id: string, forUpdate = false): Promise<AlbumState | null> {
    if (forUpdate && this.dialect.supportsRowLocks) {
      await trx
        .insertInto('albums')
        .values({ id })
        .onConflict((oc) => oc.column('id').doNothing())
        .execute();
    }
    const row = await trx
      .selectFrom('albums')
      .selectAll()
      .where('id', '=', id)
      .$if(forUpdate && this.dialect.supportsRowLocks, (qb) => qb.forUpdate())
      .executeTakeFirst();
    if (!row || (row.live_hlc === null && row.deleted_hlc === null && row.info_hlc === null)) {
      return null;
    }
    const reg = (value: string | null, hlc: string | null): Register | null =>
      hlc === null ? null : { value: value ?? '', hlc };
    return {
      id: row.id,
      info:
        row.info_hlc === null ? null : { owner: row.owner ?? '', createdAt: row.created_at ?? 0 },
      infoHlc: row.info_hlc,
      name: reg(row.name, row.name_hlc),
      desc: reg(row.descr, row.desc_hlc),
      cover: reg(row.cover, row.cover_hlc),
      liveHlc: row.live_hlc,
      deletedHlc: row.deleted_hlc,
    };
  }

  async save(trx: Executor, state: AlbumState): Promise<void> {
    const values = {
      owner: state.info?.owner ?? null,
      created_at: state.info?.createdAt ?? null,
      info_hlc: state.infoHlc,
      name: state.name?.value ?? null,
      name_hlc: state.name?.hlc ?? null,
      descr: state.desc?.value ?? null,
      desc_hlc: state.desc?.hlc ?? null,
      cover: state.cover?.value ?? null,
      cover_hlc: state.cover?.hlc ?? null,
      live_hlc: state.liveHlc,
      deleted_hlc: state.deletedHlc,
      alive: isAlbumAlive(state) ? 1 : 0,
    };
    await trx
      .insertInto('albums')
      .values({ id: state.id, ...values })
      .onConflict((oc) => oc.column('id').doUpdateSet(values))
      .execute();
  }

  /**
   * Records an add (`present`) or remove of pictures stamped `hlc`: each (album, picture) keeps
   * the operation with the highest HLC (core/album-state.ts `mergeMembership`).
   */
  async setMembers(
    trx: Executor,
    albumId: string,
    pictureIds: readonly string[],
    present: boolean,
    hlc: string,
  ): Promise<void> {
    if (pictureIds.length === 0) return;
    await trx
      .insertInto('album_pictures')
      .values(
        [...new Set(pictureIds)].map((picture_id) => ({
          album_id: albumId,
          picture_id,
          present: present ? 1 : 0,
          hlc,
        })),
      )
      .onConflict((oc) =>
        oc
          .columns(['album_id', 'picture_id'])
          .doUpdateSet((eb) => ({
            present: eb.ref('excluded.present'),
            hlc: eb.ref('excluded.hlc'),
          }))
          .where((eb) => eb('excluded.hlc', '>', eb.ref('album_pictures.hlc'))),
      )
      .execute();
  }

  /** Alive albums, newest first, with their visible pictures' count and the picture to show. */
  async list(only?: string): Promise<AlbumSummary[]> {
    const rows = await this.db
      .selectFrom('albums as a')
      .modifyFront(prepared) // two texts: every album, or one
      .select(['a.id', 'a.name', 'a.descr', 'a.owner', 'a.created_at', 'a.cover'])
      .select((eb) => [
        eb
          .selectFrom('album_pictures as ap')
          .innerJoin('pictures as p', 'p.id', 'ap.picture_id')
          .select((e) => e.fn.countAll<number>().as('n'))
          .whereRef('ap.album_id', '=', 'a.id')
          .where('ap.present', '=', 1)
          .where('p.alive', '=', 1)
          .where('p.has_blob', '=', 1)
          .as('count'),
        eb
          .selectFrom('album_pictures as ap')
          .innerJoin('pictures as p', 'p.id', 'ap.picture_id')
          .select('p.id')
          .whereRef('ap.album_id', '=', 'a.id')
          .where('ap.present', '=', 1)
          .where('p.alive', '=', 1)
          .where('p.has_blob', '=', 1)
          .orderBy('p.created_at', 'desc')
          .orderBy('p.id', 'desc')
          .limit(1)
          .as('newest'),
        eb
          .selectFrom('album_pictures as ap')
          .innerJoin('pictures as p', 'p.id', 'ap.picture_id')
          .select('p.id')
          .whereRef('ap.album_id', '=', 'a.id')
          .whereRef('ap.picture_id', '=', 'a.cover')
          .where('ap.present', '=', 1)
          .where('p.alive', '=', 1)
          .where('p.has_blob', '=', 1)
          .as('cover_visible'),
      ])
      .where('a.alive', '=', 1)
      .$if(only !== undefined, (qb) => qb.where('a.id', '=', only ?? ''))
      .orderBy('a.created_at', 'desc')
      .orderBy('a.id', 'desc')
      .execute();
    return rows.map((r) => ({
      id: r.id,
      name: r.name ?? '',
      desc: r.descr ?? '',
      owner: r.owner ?? '',
      createdAt: r.created_at ?? 0,
      coverId: r.cover_visible ?? r.newest ?? null,
      count: r.count ?? 0,
    }));
  }

  /** One alive album's summary, or null. */
  async summary(id: string): Promise<AlbumSummary | null> {
    const [album] = await this.list(id);
    return album ?? null;
  }

  /**
   * The album's visible pictures as the API shows them with their facts, newest taken first
   * (the gallery's timeline order: the date taken, else the upload time), paged by (that key,
   * id): one statement.
   */
  async pictures(
    albumId: string,
    limit: number,
    cursor: AlbumCursor | null = null,
  ): Promise<AlbumPage> {
    const rows = await this.db
      .selectFrom('album_pictures as ap')
      .modifyFront(prepared) // two texts: the first page, or after a cursor
      .innerJoin('pictures as p', 'p.id', 'ap.picture_id')
      .leftJoin('picture_facts as f', 'f.id', 'p.id')
      .select([...LISTED_COLUMNS, TAKEN_KEY.as('key')])
      .where('ap.album_id', '=', albumId)
      .where('ap.present', '=', 1)
      .where('p.alive', '=', 1)
      .where('p.has_blob', '=', 1)
      .$if(cursor !== null, (qb) =>
        qb.where(
          afterCursor(TAKEN_KEY, sql.ref('p.id'), { key: cursor?.key ?? 0, id: cursor?.id ?? '' }),
        ),
      )
      .orderBy(TAKEN_KEY, 'desc')
      .orderBy('p.id', 'desc')
      .limit(limit + 1)
      .execute();
    const page = rows.slice(0, limit);
    const last = page.at(-1);
    return {
      items: page.map(listedPicture),
      next: rows.length > limit && last ? { key: last.key, id: last.id } : null,
    };
  }

  /**
   * The albums that hold any of these pictures now (visible or not), each once: whose pages a
   * change of these pictures changes (the live feed's lookup). Asked in chunks of 500 ids.
   */
  async holding(pictureIds: readonly string[]): Promise<string[]> {
    const albums = new Set<string>();
    for (let at = 0; at < pictureIds.length; at += HOLDING_CHUNK) {
      const rows = await this.db
        .selectFrom('album_pictures')
        .select('album_id')
        .distinct()
        .where('picture_id', 'in', pictureIds.slice(at, at + HOLDING_CHUNK))
        .where('present', '=', 1)
        .execute();
      for (const row of rows) albums.add(row.album_id);
    }
    return [...albums];
  }

  /** Whether a picture is in an album now (visible or not). */
  async contains(albumId: string, pictureId: string): Promise<boolean> {
    const row = await this.db
      .selectFrom('album_pictures')
      .select('present')
      .where('album_id', '=', albumId)
      .where('picture_id', '=', pictureId)
      .executeTakeFirst();
    return row?.present === 1;
  }
}
