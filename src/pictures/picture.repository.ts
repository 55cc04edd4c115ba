import { sql, type Selectable } from 'kysely';
import type { Executor, MetadataStore } from '../storage/metadata/dialect.js';
import { afterCursor } from '../storage/metadata/keyset.js';
import { CompiledStatements } from '../storage/metadata/compiled-statements.js';
import { prepared } from '../storage/metadata/prepared.js';
import type { PicturesTable } from '../storage/metadata/schema.js';
import type { Principal } from '../accounts/principal.js';
import { decodeHlc } from '../core/hlc.js';
import { isAlive, lastChangeHlc, type PictureState } from './picture.state.js';
import { LISTED_COLUMNS, listedPicture, type PictureWithFacts } from './listed-picture.js';
import { searchCondition, type PictureFilter } from './picture-filter.js';

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

export interface CategoryCount {
  readonly name: string;
  readonly count: number;
}

export interface StoredPicture {
  readonly state: PictureState;
  readonly hasBlob: boolean;
}

export interface PictureQuery extends PictureFilter {
  readonly limit: number;
  readonly cursor?: { readonly createdAt: number; readonly id: string } | undefined;
}

/** The metadata store's narrow interface for pictures (see docs/architecture.md). */
export interface PictureRepository {
  /** With `forUpdate` (inside `trx`) the row stays locked until the transaction ends. */
  get(id: string, trx?: Executor, options?: { forUpdate?: boolean }): Promise<StoredPicture | null>;
  /**
   * A session's account and picture `id` in one statement (the file route's two reads in one
   * round trip); null when the session is unknown or expired at `now`.
   */
  getForSession(
    sessionHash: string,
    now: number,
    id: string,
  ): Promise<{ principal: Principal; picture: StoredPicture | null } | null>;
  save(trx: Executor, state: PictureState, hasBlob: boolean): Promise<void>;
  /**
   * The picture as `save` last wrote it inside transaction `trx`, without a statement; null
   * when it did not (or not in a transaction). Read before `trx` ends: what the row holds at
   * its commit, as no other writer may change a row this transaction has written.
   */
  savedIn(trx: Executor, id: string): StoredPicture | null;
  setHasBlob(id: string, hasBlob: boolean, trx?: Executor): Promise<void>;
  /**
   * Inside a transaction: waits for any other process of the site creating picture `id`, and
   * holds it off until this transaction ends (check-then-create in turn).
   */
  lockCreate(trx: Executor, id: string): Promise<void>;
  /** Every picture's byte flags in id order, read a page at a time. */
  byteFlags(pageSize?: number): AsyncIterable<{ id: string; alive: boolean; hasBlob: boolean }>;
  /** Visible pictures (alive, bytes present) with their facts, newest first: one statement. */
  list(query: PictureQuery): Promise<PictureWithFacts[]>;
  /** The visible ones among `ids` (at most a few hundred), with their facts: one statement. */
  listed(ids: readonly string[]): Promise<PictureWithFacts[]>;
  /** Visible pictures: count and total bytes. */
  totals(): Promise<{ count: number; bytes: number }>;
  /** The categories of visible pictures with how many each holds, most first, then by name. */
  categories(): Promise<CategoryCount[]>;
  /** Alive pictures whose bytes are not here (to fetch). */
  missingBytes(): Promise<string[]>;
  /** Their total size. */
  missingBytesTotal(): Promise<number>;
}

/**
 * The columns a picture's state and byte flag are read from: not `*`, which on PostgreSQL also
 * brings the `search` tsvector (and `rowid`, `taken_key`, `updated_at`), parsed and dropped.
 */
const STATE_COLUMNS = [
  'id',
  'content_type',
  'size',
  'width',
  'height',
  'owner',
  'origin_name',
  'created_at',
  'info_hlc',
  'title',
  'title_hlc',
  'category',
  'category_hlc',
  'descr',
  'desc_hlc',
  'live_hlc',
  'deleted_hlc',
  'has_blob',
] as const satisfies readonly (keyof PicturesTable)[];

type PictureRow = Pick<Selectable<PicturesTable>, (typeof STATE_COLUMNS)[number]>;

/** Pictures on the metadata store (SQLite or PostgreSQL, through Kysely). */
export class SqlPictureRepository implements PictureRepository {
  /** What `save` wrote in each transaction, by picture (savedIn); gone with the transaction. */
  private readonly saved = new WeakMap<Executor, Map<string, StoredPicture>>();
  /**
   * `get`, `save` and `setHasBlob` run a few times per picture an upload or a catch-up brings:
   * their text is compiled once (a Kysely builder per call was the largest allocation of a
   * catching-up node; docs/benchmarks.md).
   */
  private readonly statements = new CompiledStatements();

  constructor(private readonly store: MetadataStore) {}

  async get(
    id: string,
    trx: Executor = this.store.db,
    options: { forUpdate?: boolean } = {},
  ): Promise<StoredPicture | null> {
    const lock = options.forUpdate === true && this.store.dialect.supportsRowLocks;
    // Two fixed texts (with and without FOR UPDATE), read three times by every upload and once
    // by every apply: prepared on PostgreSQL (storage/metadata/prepared.ts).
    const { rows } = await this.statements.run<PictureRow>(
      trx,
      lock ? 'picture.get.forUpdate' : 'picture.get',
      () =>
        trx
          .selectFrom('pictures')
          .modifyFront(prepared)
          .select(STATE_COLUMNS)
          .where('id', '=', id)
          .$if(lock, (qb) => qb.forUpdate()),
      [id],
    );
    const row = rows[0];
    return row ? { state: rowToState(row), hasBlob: row.has_blob === 1 } : null;
  }

  async getForSession(
    sessionHash: string,
    now: number,
    id: string,
  ): Promise<{ principal: Principal; picture: StoredPicture | null } | null> {
    // The same conditions as CredentialRepository.findSession, and the row `get` reads.
    const row = await this.store.db
      .selectFrom('sessions')
      .modifyFront(prepared)
      .innerJoin('users', 'users.username', 'sessions.username')
      .leftJoin('pictures', (join) => join.on('pictures.id', '=', id))
      .select(STATE_COLUMNS.map((column) => `pictures.${column}` as const))
      .select(['users.username as session_username', 'users.role as session_role'])
      .where('sessions.id_hash', '=', sessionHash)
      .where('sessions.expires_at', '>', now)
      .where('users.disabled', '=', 0)
      .executeTakeFirst();
    if (!row) return null;
    const principal = { username: row.session_username, role: row.session_role };
    if (row.id === null) return { principal, picture: null };
    const picture = row as PictureRow;
    return { principal, picture: { state: rowToState(picture), hasBlob: picture.has_blob === 1 } };
  }

  async save(trx: Executor, state: PictureState, hasBlob: boolean): Promise<void> {
    const info = state.info;
    const changed = lastChangeHlc(state);
    const row = {
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
    };
    const values = Object.values(row);
    await this.statements.run(
      trx,
      'picture.save',
      () =>
        trx
          .insertInto('pictures')
          .values({ id: state.id, ...row })
          .onConflict((oc) => oc.column('id').doUpdateSet(row)),
      [state.id, ...values, ...values],
    );
    this.remember(trx, state.id, { state, hasBlob });
  }

  savedIn(trx: Executor, id: string): StoredPicture | null {
    return this.saved.get(trx)?.get(id) ?? null;
  }

  async setHasBlob(id: string, hasBlob: boolean, trx: Executor = this.store.db): Promise<void> {
    const flag = hasBlob ? 1 : 0;
    await this.statements.run(
      trx,
      'picture.setHasBlob',
      () => trx.updateTable('pictures').set({ has_blob: flag }).where('id', '=', id),
      [flag, id],
    );
    const saved = this.savedIn(trx, id);
    if (saved) this.remember(trx, id, { state: saved.state, hasBlob });
  }

  private remember(trx: Executor, id: string, stored: StoredPicture): void {
    if (trx === this.store.db) return; // not a transaction: others may write the row next
    let pictures = this.saved.get(trx);
    if (!pictures) this.saved.set(trx, (pictures = new Map<string, StoredPicture>()));
    pictures.set(id, stored);
  }

  async list(query: PictureQuery): Promise<PictureWithFacts[]> {
    return (await this.listQuery(query).execute()).map(listedPicture);
  }

  async listed(ids: readonly string[]): Promise<PictureWithFacts[]> {
    if (ids.length === 0) return [];
    const rows = await this.store.db
      .selectFrom('pictures as p')
      .leftJoin('picture_facts as f', 'f.id', 'p.id')
      .select(LISTED_COLUMNS)
      .where('p.id', 'in', ids)
      .where('p.alive', '=', 1)
      .where('p.has_blob', '=', 1)
      .execute();
    return rows.map(listedPicture);
  }

  private listQuery(query: PictureQuery) {
    const match = searchCondition(this.store.dialect, 'p', query.q);
    const cursor = query.cursor;
    return this.store.db
      .selectFrom('pictures as p')
      .$if(match === null, (qb) => qb.modifyFront(prepared)) // a search's plan: its words
      .leftJoin('picture_facts as f', 'f.id', 'p.id')
      .select(LISTED_COLUMNS)
      .where('p.alive', '=', 1)
      .where('p.has_blob', '=', 1)
      .$if(query.category !== undefined, (qb) => qb.where('p.category', '=', query.category ?? ''))
      .$if(match !== null, (qb) => qb.where(() => match ?? sql<boolean>`1 = 1`))
      .$if(cursor !== undefined, (qb) =>
        qb.where(
          afterCursor(sql.ref('p.created_at'), sql.ref('p.id'), {
            key: cursor?.createdAt ?? 0,
            id: cursor?.id ?? '',
          }),
        ),
      )
      .orderBy('p.created_at', 'desc')
      .orderBy('p.id', 'desc')
      .limit(query.limit);
  }

  async totals(): Promise<{ count: number; bytes: number }> {
    const row = await this.store.db
      .selectFrom('pictures')
      .select((eb) => [
        eb.fn.countAll<number>().as('count'),
        eb.fn.coalesce(eb.fn.sum<number>('size'), eb.val(0)).as('bytes'),
      ])
      .where('alive', '=', 1)
      .where('has_blob', '=', 1)
      .executeTakeFirstOrThrow();
    return { count: row.count, bytes: row.bytes };
  }

  async categories(): Promise<CategoryCount[]> {
    // One pass over the visible rows' index on category (pictures_by_category_taken), no cache:
    // a library holds a few dozen categories. Sorted here, the same on both engines (their text
    // collations differ).
    const rows = await this.store.db
      .selectFrom('pictures')
      .select((eb) => ['category', eb.fn.countAll<number>().as('count')])
      .where('alive', '=', 1)
      .where('has_blob', '=', 1)
      .where('category', 'is not', null)
      .where('category', '!=', '')
      .groupBy('category')
      .execute();
    return rows
      .map((r) => ({ name: r.category ?? '', count: r.count }))
      .sort((a, b) => b.count - a.count || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  async missingBytes(): Promise<string[]> {
    const rows = await this.store.db
      .selectFrom('pictures')
      .select('id')
      .where('alive', '=', 1)
      .where('has_blob', '=', 0)
      .execute();
    return rows.map((r) => r.id);
  }

  async missingBytesTotal(): Promise<number> {
    const row = await this.store.db
      .selectFrom('pictures')
      .select((eb) => eb.fn.coalesce(eb.fn.sum<number>('size'), eb.val(0)).as('bytes'))
      .where('alive', '=', 1)
      .where('has_blob', '=', 0)
      .executeTakeFirstOrThrow();
    return row.bytes;
  }

  async lockCreate(trx: Executor, id: string): Promise<void> {
    await this.store.dialect.lockUntilCommit(`picture.create:${id}`)?.execute(trx);
  }

  async *byteFlags(
    pageSize = 1000,
  ): AsyncGenerator<{ id: string; alive: boolean; hasBlob: boolean }> {
    let after = '';
    for (;;) {
      const rows = await this.store.db
        .selectFrom('pictures')
        .select(['id', 'alive', 'has_blob'])
        .where('id', '>', after)
        .orderBy('id')
        .limit(pageSize)
        .execute();
      for (const r of rows) yield { id: r.id, alive: r.alive === 1, hasBlob: r.has_blob === 1 };
      const last = rows.at(-1);
      if (last === undefined || rows.length < pageSize) return;
      after = last.id;
    }
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
