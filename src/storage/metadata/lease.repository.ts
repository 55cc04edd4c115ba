import { sql, type Kysely, type Transaction } from 'kysely';
import type { MetadataDialect } from './dialect.js';
import type { Schema } from './schema.js';

export interface LeaseGrant {
  readonly name: string;
  readonly holder: string;
  /** Fencing token: grows every time the lease changes hands or is taken again after expiry. */
  readonly token: number;
  /** Expiry in ms on the database's clock. */
  readonly expiresAt: number;
}

/**
 * Leases for work that must run once per site (peer replication, the 2PC outbox, background
 * jobs), one `lease` row each, timed on the database's clock so that the processes' clocks
 * do not matter. Each primitive is one statement, safe when several processes race: `acquire`
 * is a conditional upsert (one caller wins, the others get null), `renew` and `release` only
 * touch a row still held with the caller's token. A released lease keeps its row, so that the
 * next token is still larger. Writes made under a lease check `holds` in their transaction.
 */
export class LeaseRepository {
  constructor(
    private readonly db: Kysely<Schema>,
    private readonly dialect: MetadataDialect,
  ) {}

  /**
   * Takes `name` for `holder` for `ttlMs`, if it is free, expired, or already this holder's
   * (then only extended, same token). Null when another holder has it.
   */
  async acquire(name: string, holder: string, ttlMs: number): Promise<LeaseGrant | null> {
    const now = this.dialect.nowMs();
    const row = await this.db
      .insertInto('lease')
      .values({ name, holder, token: 1, expires_at: sql<number>`${now} + ${ttlMs}` })
      .onConflict((oc) =>
        oc
          .column('name')
          .doUpdateSet({
            holder,
            token: sql<number>`CASE WHEN lease.expires_at <= ${now} THEN lease.token + 1 ELSE lease.token END`,
            expires_at: sql<number>`${now} + ${ttlMs}`,
          })
          .where((eb) =>
            eb.or([eb('lease.holder', '=', holder), eb('lease.expires_at', '<=', now)]),
          ),
      )
      .returning(['token', 'expires_at'])
      .executeTakeFirst();
    return row ? { name, holder, token: row.token, expiresAt: row.expires_at } : null;
  }

  /** Extends a lease still held (not expired) with `token`; null when it was lost. */
  async renew(
    name: string,
    holder: string,
    token: number,
    ttlMs: number,
  ): Promise<LeaseGrant | null> {
    const now = this.dialect.nowMs();
    const row = await this.db
      .updateTable('lease')
      .set({ expires_at: sql<number>`${now} + ${ttlMs}` })
      .where('name', '=', name)
      .where('holder', '=', holder)
      .where('token', '=', token)
      .where('expires_at', '>', now)
      .returning(['expires_at'])
      .executeTakeFirst();
    return row ? { name, holder, token, expiresAt: row.expires_at } : null;
  }

  /** Gives the lease up at once (it stays, expired, with its token). */
  async release(name: string, holder: string, token: number): Promise<void> {
    await this.db
      .updateTable('lease')
      .set({ expires_at: 0 })
      .where('name', '=', name)
      .where('holder', '=', holder)
      .where('token', '=', token)
      .execute();
  }

  /**
   * Deletes a lease held with `token` (for short-lived locks named per resource, whose rows
   * would otherwise pile up; the once-per-site leases keep theirs, see `release`).
   */
  async drop(name: string, holder: string, token: number): Promise<void> {
    await this.db
      .deleteFrom('lease')
      .where('name', '=', name)
      .where('holder', '=', holder)
      .where('token', '=', token)
      .execute();
  }

  /** Deletes the expired leases whose names start with `prefix` (left by dead holders). */
  async dropExpired(prefix: string): Promise<number> {
    const result = await this.db
      .deleteFrom('lease')
      .where(sql<string>`substr(name, 1, ${prefix.length})`, '=', prefix)
      .where('expires_at', '<=', this.dialect.nowMs())
      .executeTakeFirst();
    return Number(result.numDeletedRows);
  }

  /** The lease as stored (expired or not), or null if never taken. */
  async current(name: string): Promise<LeaseGrant | null> {
    const row = await this.db
      .selectFrom('lease')
      .select(['holder', 'token', 'expires_at'])
      .where('name', '=', name)
      .executeTakeFirst();
    return row ? { name, holder: row.holder, token: row.token, expiresAt: row.expires_at } : null;
  }

  /**
   * The fence, inside a write transaction: true while `token` still holds `name` unexpired.
   * PostgreSQL: the row is share-locked until commit, so a takeover waits for this transaction
   * and cannot slip in between the check and the writes. SQLite: `BEGIN IMMEDIATE` already
   * keeps every other writer out.
   */
  async holds(trx: Transaction<Schema>, name: string, token: number): Promise<boolean> {
    const row = await trx
      .selectFrom('lease')
      .select('token')
      .where('name', '=', name)
      .where('token', '=', token)
      .where('expires_at', '>', this.dialect.nowMs())
      .$if(this.dialect.supportsRowLocks, (qb) => qb.forShare())
      .executeTakeFirst();
    return row !== undefined;
  }
}
