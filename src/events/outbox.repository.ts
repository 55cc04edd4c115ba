/**
 * The outbox of one site's event messages (`event_outbox`): every message that must arrive is
 * enqueued in the same store transaction as the change that causes it, and deleted once the
 * receiver acknowledged it (./event-sender.ts). Executor first, as in ./event.repository.ts.
 */
import { sql, type Selectable } from 'kysely';
import type { MetadataStore } from '../storage/metadata/dialect.js';
import type { EventOutboxTable } from '../storage/metadata/schema.js';
import type { Site } from './core/types.js';
import type { Executor } from '../storage/metadata/dialect.js';

export interface OutboxRow {
  readonly id: number;
  readonly site: Site;
  readonly path: string;
  readonly body: string;
  readonly attempts: number;
  readonly nextAt: number;
}

export class OutboxRepository {
  constructor(private readonly store: MetadataStore) {}

  /** Queues a message for `site`, due at `now`; its id. */
  async enqueue(
    db: Executor,
    site: Site,
    path: string,
    body: unknown,
    now: number,
  ): Promise<number> {
    const row = await db
      .insertInto('event_outbox')
      .values({ site: JSON.stringify(site), path, body: JSON.stringify(body), next_at: now })
      .returning('id')
      .executeTakeFirstOrThrow();
    return row.id;
  }

  async due(db: Executor, now: number, limit = 100): Promise<OutboxRow[]> {
    const rows = await db
      .selectFrom('event_outbox')
      .selectAll()
      .where('next_at', '<=', now)
      .orderBy('id')
      .limit(limit)
      .execute();
    return rows.map(toOutbox);
  }

  async row(db: Executor, id: number): Promise<OutboxRow | null> {
    const row = await db
      .selectFrom('event_outbox')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirst();
    return row === undefined ? null : toOutbox(row);
  }

  async size(db: Executor): Promise<number> {
    const row = await db
      .selectFrom('event_outbox')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    return row.n;
  }

  /**
   * Outbox bookkeeping is written without waiting for its own flush to disk (the next durable
   * commit carries it): if a crash loses it, the message is only sent again, and every receiver
   * takes a message twice. On SQLite that saves an fsync, which blocks the event loop, per
   * message acknowledged (docs/benchmarks.md).
   */
  async acked(id: number): Promise<void> {
    await this.lightly((db) => db.deleteFrom('event_outbox').where('id', '=', id).execute());
  }

  async retryLater(id: number, nextAt: number): Promise<void> {
    await this.lightly((db) =>
      db
        .updateTable('event_outbox')
        .set((eb) => ({ attempts: eb('attempts', '+', 1), next_at: nextAt }))
        .where('id', '=', id)
        .execute(),
    );
  }

  /**
   * SQLite: `synchronous = NORMAL` for this one write, on the one connection held throughout
   * (so no other statement runs in between, with or without it). PostgreSQL: its own
   * transaction with `synchronous_commit` off (the commit does not wait for the WAL flush).
   */
  private async lightly(write: (db: Executor) => Promise<unknown>): Promise<void> {
    const { store } = this;
    if (store.dialect.name === 'postgres') {
      await store.transaction(async (trx) => {
        await sql`SET LOCAL synchronous_commit = off`.execute(trx);
        await write(trx);
      });
      return;
    }
    await store.db.connection().execute(async (db) => {
      await sql`PRAGMA synchronous = NORMAL`.execute(db);
      try {
        await write(db);
      } finally {
        await sql`PRAGMA synchronous = FULL`.execute(db);
      }
    });
  }
}

function toOutbox(r: Selectable<EventOutboxTable>): OutboxRow {
  return {
    id: r.id,
    site: JSON.parse(r.site) as Site,
    path: r.path,
    body: r.body,
    attempts: r.attempts,
    nextAt: r.next_at,
  };
}
