/**
 * The event replicas at one site, on the metadata store (SQLite or PostgreSQL): events, their
 * photos, participants, votes and removals. Plain reads and writes; the protocol lives in the
 * service and in core/. Every method takes the executor first: `store.db` for a lone read or
 * write, or the `trx` of the caller's `store.transaction`, which it then joins. A
 * read-modify-write reads the event with `lockEvent`: on PostgreSQL (READ COMMITTED, several
 * processes of one site on one database) that row lock is what serialises the changes of one
 * event, as `BEGIN IMMEDIATE` does on SQLite.
 */
import type { Selectable } from 'kysely';
import type { Executor, MetadataDialect } from '../storage/metadata/dialect.js';
import type { EventsTable } from '../storage/metadata/schema.js';
import type { EventRecord, EventState, Phase, PhotoPayload, VoteDecision } from './core/types.js';
import { withInvite, type InviteVersion } from './core/invite.js';

/** The organiser as a participant, from the event record itself (null for older events). */
export function organiserOf(record: EventRecord): Participant | null {
  if (record.organiserId === undefined) return null;
  return {
    id: record.organiserId,
    name: record.organiser,
    siteId: record.originId,
    siteName: record.originName,
    username: record.organiser,
    joinedAt: record.createdAt,
    recoveryHash: null,
  };
}

export interface StoredEvent {
  readonly record: EventRecord;
  readonly state: EventState;
  readonly publishedAt: number | null;
  /** Set once a `delete` transaction committed here: the event is a tombstone. */
  readonly deletedAt: number | null;
}

export interface StoredPhoto {
  readonly position: number;
  readonly txId: string;
  readonly photo: PhotoPayload;
}

export interface Participant {
  readonly id: string;
  readonly name: string;
  readonly siteId: string;
  readonly siteName: string;
  readonly username: string | null;
  readonly joinedAt: number;
  /** SHA-256 (hex) of the participant's personal recovery code; null for older participants. */
  readonly recoveryHash: string | null;
}

export interface Vote {
  readonly participantId: string;
  readonly version: number;
  readonly decision: VoteDecision;
}

export class EventRepository {
  constructor(private readonly dialect: MetadataDialect) {}

  // --- events -------------------------------------------------------------------------------

  async insertEvent(db: Executor, record: EventRecord, state: EventState): Promise<void> {
    await db
      .insertInto('events')
      .values({
        id: record.id,
        record: JSON.stringify(record),
        phase: state.phase,
        round: state.round,
        version: state.version,
        deadline: state.deadline,
        voting_closed: state.closed ? 1 : 0,
        created_at: record.createdAt,
      })
      .onConflict((oc) => oc.column('id').doNothing())
      .execute();
  }

  async getEvent(db: Executor, id: string): Promise<StoredEvent | null> {
    const row = await db.selectFrom('events').selectAll().where('id', '=', id).executeTakeFirst();
    return row === undefined ? null : toEvent(row);
  }

  /**
   * The event, its row locked until the transaction `trx` ends (PostgreSQL; SQLite's write
   * transaction already excludes every other writer): read it so before changing it, or before
   * deciding anything from its state, so that two processes never both act on the same state.
   */
  async lockEvent(trx: Executor, id: string): Promise<StoredEvent | null> {
    const row = await trx
      .selectFrom('events')
      .selectAll()
      .where('id', '=', id)
      .$if(this.dialect.supportsRowLocks, (qb) => qb.forUpdate())
      .executeTakeFirst();
    return row === undefined ? null : toEvent(row);
  }

  async allEvents(db: Executor): Promise<StoredEvent[]> {
    const rows = await db
      .selectFrom('events')
      .selectAll()
      .where('deleted_at', 'is', null)
      .orderBy('created_at', 'desc')
      .execute();
    return rows.map(toEvent);
  }

  async setState(db: Executor, id: string, state: EventState, publishedAt?: number): Promise<void> {
    await db
      .updateTable('events')
      .set((eb) => ({
        phase: state.phase,
        round: state.round,
        version: state.version,
        deadline: state.deadline,
        voting_closed: state.closed ? 1 : 0,
        published_at: eb.fn.coalesce('published_at', eb.val(publishedAt ?? null)),
      }))
      .where('id', '=', id)
      .execute();
  }

  /**
   * Makes `next` the event's invite when it replaces the one held here (core/invite.ts: the
   * greatest (generation, invite) wins, so replacements may arrive in any order). Call it with
   * the event's row locked. Returns whether the invite changed.
   */
  async setInvite(db: Executor, id: string, next: InviteVersion): Promise<boolean> {
    const row = await db
      .selectFrom('events')
      .select('record')
      .where('id', '=', id)
      .executeTakeFirst();
    if (row === undefined) return false;
    const record = JSON.parse(row.record) as EventRecord;
    const updated = withInvite(record, next);
    if (updated === record) return false;
    await db
      .updateTable('events')
      .set({ record: JSON.stringify(updated) })
      .where('id', '=', id)
      .execute();
    return true;
  }

  async markDeleted(db: Executor, id: string, at: number): Promise<void> {
    await db
      .updateTable('events')
      .set((eb) => ({ deleted_at: eb.fn.coalesce('deleted_at', eb.val(at)) }))
      .where('id', '=', id)
      .execute();
  }

  /** Events in voting whose deadline has passed (the master decides them). */
  async votingEvents(db: Executor): Promise<StoredEvent[]> {
    const rows = await db
      .selectFrom('events')
      .selectAll()
      .where('phase', '=', 'voting')
      .where('deleted_at', 'is', null)
      .execute();
    return rows.map(toEvent);
  }

  async countByPhase(db: Executor): Promise<Partial<Record<Phase, number>>> {
    const rows = await db
      .selectFrom('events')
      .select((eb) => ['phase', eb.fn.countAll<number>().as('n')])
      .where('deleted_at', 'is', null)
      .groupBy('phase')
      .execute();
    return Object.fromEntries(rows.map((r) => [r.phase, r.n]));
  }

  // --- photos, participants, votes ----------------------------------------------------------

  async insertPhoto(
    db: Executor,
    eventId: string,
    position: number,
    txId: string,
    photo: PhotoPayload,
  ): Promise<void> {
    await db
      .insertInto('event_photos')
      .values({ event_id: eventId, position, tx_id: txId, body: JSON.stringify(photo) })
      .onConflict((oc) => oc.doNothing())
      .execute();
  }

  /**
   * The photos of montage version `upTo` (default: the latest), in commit order: those committed
   * at or before it, less the photos of participants removed at or before it. (The submitter is
   * inside the JSON body: filtered here rather than with a dialect's JSON operator.)
   */
  async photos(db: Executor, eventId: string, upTo?: number): Promise<StoredPhoto[]> {
    const [rows, removed] = await Promise.all([
      db
        .selectFrom('event_photos')
        .select(['position', 'tx_id', 'body'])
        .where('event_id', '=', eventId)
        .$if(upTo !== undefined, (qb) => qb.where('position', '<=', upTo ?? 0))
        .orderBy('position')
        .execute(),
      db
        .selectFrom('event_removals')
        .select('participant_id')
        .where('event_id', '=', eventId)
        .$if(upTo !== undefined, (qb) => qb.where('version', '<=', upTo ?? 0))
        .execute(),
    ]);
    const gone = new Set(removed.map((r) => r.participant_id));
    return rows
      .map((r) => ({
        position: r.position,
        txId: r.tx_id,
        photo: JSON.parse(r.body) as PhotoPayload,
      }))
      .filter((p) => !gone.has(p.photo.participantId));
  }

  async insertRemoval(
    db: Executor,
    eventId: string,
    participantId: string,
    version: number,
    at: number,
  ): Promise<void> {
    await db
      .insertInto('event_removals')
      .values({ event_id: eventId, participant_id: participantId, version, removed_at: at })
      .onConflict((oc) => oc.doNothing())
      .execute();
  }

  /**
   * Records a participant once; a later copy only fills what the first lacked (a photo commit
   * can record its submitter before the join notice with the account and recovery hash).
   */
  async insertParticipant(db: Executor, eventId: string, p: Participant): Promise<void> {
    await db
      .insertInto('event_participants')
      .values({
        event_id: eventId,
        id: p.id,
        name: p.name,
        site_id: p.siteId,
        site_name: p.siteName,
        username: p.username,
        joined_at: p.joinedAt,
        recovery_hash: p.recoveryHash,
      })
      .onConflict((oc) =>
        oc.columns(['event_id', 'id']).doUpdateSet((eb) => ({
          username: eb.fn.coalesce('event_participants.username', eb.ref('excluded.username')),
          recovery_hash: eb.fn.coalesce(
            'event_participants.recovery_hash',
            eb.ref('excluded.recovery_hash'),
          ),
        })),
      )
      .execute();
  }

  async participants(db: Executor, eventId: string): Promise<Participant[]> {
    const rows = await db
      .selectFrom('event_participants as p')
      .selectAll('p')
      .where('p.event_id', '=', eventId)
      .where((eb) =>
        eb.not(
          eb.exists(
            eb
              .selectFrom('event_removals as r')
              .select('r.participant_id')
              .whereRef('r.event_id', '=', 'p.event_id')
              .whereRef('r.participant_id', '=', 'p.id'),
          ),
        ),
      )
      .orderBy('p.joined_at')
      .orderBy('p.id')
      .execute();
    return rows.map((r) => ({
      id: r.id,
      name: r.name,
      siteId: r.site_id,
      siteName: r.site_name,
      username: r.username,
      joinedAt: r.joined_at,
      recoveryHash: r.recovery_hash,
    }));
  }

  /** Records a vote once; false when this participant already voted in this round. */
  async insertVote(
    db: Executor,
    eventId: string,
    round: number,
    vote: Vote,
    castAt: number,
  ): Promise<boolean> {
    const inserted = await db
      .insertInto('event_votes')
      .values({
        event_id: eventId,
        round,
        participant_id: vote.participantId,
        version: vote.version,
        decision: vote.decision,
        cast_at: castAt,
      })
      .onConflict((oc) => oc.doNothing())
      .returning('participant_id')
      .executeTakeFirst();
    return inserted !== undefined;
  }

  async votes(db: Executor, eventId: string, round: number): Promise<Vote[]> {
    const rows = await db
      .selectFrom('event_votes')
      .select(['participant_id', 'version', 'decision'])
      .where('event_id', '=', eventId)
      .where('round', '=', round)
      .execute();
    return rows.map((r) => ({
      participantId: r.participant_id,
      version: r.version,
      decision: r.decision,
    }));
  }
}

function toEvent(row: Selectable<EventsTable>): StoredEvent {
  return {
    record: JSON.parse(row.record) as EventRecord,
    state: {
      phase: row.phase,
      round: row.round,
      version: row.version,
      deadline: row.deadline,
      closed: row.voting_closed === 1,
    },
    publishedAt: row.published_at,
    deletedAt: row.deleted_at,
  };
}
