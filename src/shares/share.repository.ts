import type { Kysely } from 'kysely';
import type { Schema } from '../storage/metadata/schema.js';

export interface ShareRecord {
  readonly id: string;
  readonly target: 'picture' | 'album';
  readonly targetId: string;
  readonly owner: string;
  readonly createdAt: number;
  /** ms since the epoch; null: never. */
  readonly expiresAt: number | null;
  /** scrypt hash of the link's password; null: none. */
  readonly passwordHash: string | null;
}

/** A link as its owner's list shows it: with the name of what it shows. */
export interface ShareListing extends ShareRecord {
  /** The picture's title or the album's name; null once it is gone (deleted, or not here). */
  readonly title: string | null;
}

type Executor = Kysely<Schema>;

/**
 * Share links on the metadata store. A link is written once (its id is random) and revoked
 * at most once in effect: a revocation is kept forever and wins over the put in any order
 * (it may arrive first), as API tokens do. Each write is one statement: no lock needed.
 */
export class ShareRepository {
  constructor(private readonly db: Kysely<Schema>) {}

  async put(trx: Executor, share: ShareRecord, hlc: string): Promise<void> {
    await trx
      .insertInto('shares')
      .values({
        id: share.id,
        target: share.target,
        target_id: share.targetId,
        owner: share.owner,
        created_at: share.createdAt,
        expires_at: share.expiresAt,
        password_hash: share.passwordHash,
        hlc,
      })
      .onConflict((oc) => oc.column('id').doNothing())
      .execute();
  }

  async revoke(trx: Executor, id: string, hlc: string): Promise<void> {
    await trx
      .insertInto('share_revocations')
      .values({ id, hlc })
      .onConflict((oc) =>
        oc
          .column('id')
          .doUpdateSet((eb) => ({ hlc: eb.ref('excluded.hlc') }))
          .where((eb) => eb('excluded.hlc', '<', eb.ref('share_revocations.hlc'))),
      )
      .execute();
  }

  /** A link that is not revoked (expiry is the caller's check), or null. */
  async get(id: string): Promise<ShareRecord | null> {
    const row = await this.live().where('s.id', '=', id).executeTakeFirst();
    return row ? toRecord(row) : null;
  }

  /**
   * Links not revoked, of one account or (null) of everyone, newest first, each with the title
   * of the picture or the name of the album it shows while that is visible here (the
   * conditions under which the link opens): one statement.
   */
  async list(owner: string | null): Promise<ShareListing[]> {
    const rows = await this.live()
      .leftJoin('pictures as p', (join) =>
        join
          .onRef('p.id', '=', 's.target_id')
          .on('s.target', '=', 'picture')
          .on('p.alive', '=', 1)
          .on('p.has_blob', '=', 1),
      )
      .leftJoin('albums as a', (join) =>
        join.onRef('a.id', '=', 's.target_id').on('s.target', '=', 'album').on('a.alive', '=', 1),
      )
      .select(['p.title as picture_title', 'a.name as album_name'])
      .$if(owner !== null, (qb) => qb.where('s.owner', '=', owner ?? ''))
      .orderBy('s.created_at', 'desc')
      .orderBy('s.id')
      .execute();
    return rows.map((row) => ({
      ...toRecord(row),
      title: (row.target === 'picture' ? row.picture_title : row.album_name) ?? null,
    }));
  }

  private live() {
    return this.db
      .selectFrom('shares as s')
      .selectAll('s')
      .where((eb) =>
        eb.not(
          eb.exists(
            eb.selectFrom('share_revocations as r').select('r.id').whereRef('r.id', '=', 's.id'),
          ),
        ),
      );
  }
}

function toRecord(row: Schema['shares']): ShareRecord {
  return {
    id: row.id,
    target: row.target,
    targetId: row.target_id,
    owner: row.owner,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    passwordHash: row.password_hash,
  };
}
