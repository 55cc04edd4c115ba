import type { Kysely } from 'kysely';
import { decodeHlc } from '../core/hlc.js';
import type { Schema } from '../storage/metadata/schema.js';

/** A deleted picture still in the trash. */
export interface TrashItem {
  readonly id: string;
  readonly title: string;
  readonly category: string;
  readonly contentType: string;
  readonly size: number;
  readonly width: number;
  readonly height: number;
  readonly owner: string;
  readonly createdAt: number;
  /** When it was deleted (the wall time of its newest delete). */
  readonly deletedAt: number;
}

/** Where a page of the trash ends: its last item's delete, and its id (for ties). */
export interface TrashCursor {
  readonly deletedHlc: string;
  readonly id: string;
}

/** A page of the trash, and where the next one starts (null: this was the last). */
export interface TrashPage {
  readonly items: TrashItem[];
  readonly next: TrashCursor | null;
}

export interface TrashListOptions {
  /** Items at most (the page size). */
  readonly limit: number;
  /** The previous page's `next`: the items after it. */
  readonly after?: TrashCursor | undefined;
  /** Only this account's pictures (null or absent: everyone's). */
  readonly owner?: string | null | undefined;
}

type Executor = Kysely<Schema>;

/**
 * The trash: pictures whose newest delete is later than their newest create or edit (so dead,
 * picture.state.ts), deleted within the retention, and not emptied since (`picture.purge`
 * with a higher HLC than the delete). Reads the `pictures` table; writes only `picture_purges`.
 */
export class TrashRepository {
  constructor(private readonly db: Kysely<Schema>) {}

  /** Keeps the newest purge of a picture. */
  async purge(trx: Executor, id: string, hlc: string): Promise<void> {
    await trx
      .insertInto('picture_purges')
      .values({ id, hlc })
      .onConflict((oc) =>
        oc
          .column('id')
          .doUpdateSet((eb) => ({ hlc: eb.ref('excluded.hlc') }))
          .where((eb) => eb('excluded.hlc', '>', eb.ref('picture_purges.hlc'))),
      )
      .execute();
  }

  /**
   * Pictures in the trash deleted at or after `sinceMs`, most recently deleted first (then by
   * id, so that a page ends at one place however many share a delete's timestamp), a page at a
   * time: one row more than the page is read to tell whether another follows.
   */
  async list(sinceMs: number, options: TrashListOptions): Promise<TrashPage> {
    const { limit, after, owner } = options;
    let query = this.inTrash(sinceMs, owner ?? null);
    if (after !== undefined) {
      query = query.where((eb) =>
        eb.or([
          eb('p.deleted_hlc', '<', after.deletedHlc),
          eb.and([eb('p.deleted_hlc', '=', after.deletedHlc), eb('p.id', '<', after.id)]),
        ]),
      );
    }
    const rows = await query
      .orderBy('p.deleted_hlc', 'desc')
      .orderBy('p.id', 'desc')
      .limit(limit + 1)
      .execute();
    const page = rows.slice(0, limit);
    const last = page.at(-1);
    return {
      items: page.map(toItem),
      next:
        rows.length > limit && last?.deleted_hlc != null
          ? { deletedHlc: last.deleted_hlc, id: last.id }
          : null,
    };
  }

  /** How many pictures the trash holds (deleted at or after `sinceMs`), or `owner`'s alone. */
  async count(sinceMs: number, owner: string | null = null): Promise<number> {
    const row = await this.inTrash(sinceMs, owner)
      .clearSelect()
      .select((eb) => eb.fn.countAll<number | string>().as('n'))
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  /** One picture if it is in the trash (deleted at or after `sinceMs`), else null. */
  async get(id: string, sinceMs: number): Promise<TrashItem | null> {
    const row = await this.inTrash(sinceMs).where('p.id', '=', id).executeTakeFirst();
    return row ? toItem(row) : null;
  }

  /** The trash's rows (`owner`'s alone, when given). */
  private inTrash(sinceMs: number, owner: string | null = null) {
    // HLCs sort as strings by wall time first: every HLC at or after `sinceMs` sorts at or
    // after its 16-digit wall prefix.
    const since = String(Math.max(0, Math.floor(sinceMs))).padStart(16, '0');
    const query = this.db
      .selectFrom('pictures as p')
      .select([
        'p.id',
        'p.title',
        'p.category',
        'p.content_type',
        'p.size',
        'p.width',
        'p.height',
        'p.owner',
        'p.created_at',
        'p.deleted_hlc',
      ])
      .where('p.alive', '=', 0)
      .where('p.info_hlc', 'is not', null)
      .where('p.deleted_hlc', 'is not', null)
      .where('p.deleted_hlc', '>=', since)
      .where((eb) =>
        eb.not(
          eb.exists(
            eb
              .selectFrom('picture_purges as g')
              .select('g.id')
              .whereRef('g.id', '=', 'p.id')
              .whereRef('g.hlc', '>', 'p.deleted_hlc'),
          ),
        ),
      );
    return owner === null ? query : query.where('p.owner', '=', owner);
  }
}

function toItem(row: {
  id: string;
  title: string | null;
  category: string | null;
  content_type: string | null;
  size: number | null;
  width: number | null;
  height: number | null;
  owner: string | null;
  created_at: number | null;
  deleted_hlc: string | null;
}): TrashItem {
  return {
    id: row.id,
    title: row.title ?? '',
    category: row.category ?? '',
    contentType: row.content_type ?? 'application/octet-stream',
    size: row.size ?? 0,
    width: row.width ?? 0,
    height: row.height ?? 0,
    owner: row.owner ?? '',
    createdAt: row.created_at ?? 0,
    deletedAt: row.deleted_hlc === null ? 0 : decodeHlc(row.deleted_hlc).wall,
  };
}
