/**
 * SQLite adapter for events: the replicas, their photos, participants and votes, the durable
 * 2PC log (`event_tx`) and the outbox of unacknowledged messages. Plain reads and writes; the
 * protocol lives in the service and in core/. Callers group writes with `transaction`.
 */
import type { Db } from '../db/database.js';
import type { CoordinatorState, ParticipantState } from './core/two-phase.js';
import type {
  EventRecord,
  EventState,
  Phase,
  PhotoPayload,
  Site,
  TxBody,
  TxKind,
  VoteDecision,
} from './core/types.js';

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

export interface TxRow<S> {
  readonly id: string;
  readonly eventId: string;
  readonly kind: TxKind;
  readonly coordinator: Site;
  readonly body: TxBody;
  readonly state: S;
  readonly updatedAt: number;
}

export interface OutboxRow {
  readonly id: number;
  readonly site: Site;
  readonly path: string;
  readonly body: string;
  readonly attempts: number;
  readonly nextAt: number;
}

interface EventDbRow {
  record: string;
  phase: Phase;
  round: number;
  version: number;
  deadline: number | null;
  published_at: number | null;
  deleted_at: number | null;
}

interface TxDbRow {
  id: string;
  event_id: string;
  kind: TxKind;
  coordinator: string;
  body: string;
  state: string;
  updated_at: number;
}

export class EventRepository {
  constructor(private readonly db: Db) {}

  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn).immediate();
  }

  // --- events -------------------------------------------------------------------------------

  insertEvent(record: EventRecord, state: EventState): void {
    this.db
      .prepare(
        `INSERT INTO events (id, record, phase, round, version, deadline, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
      )
      .run(
        record.id,
        JSON.stringify(record),
        state.phase,
        state.round,
        state.version,
        state.deadline,
        record.createdAt,
      );
  }

  getEvent(id: string): StoredEvent | null {
    const row = this.db.prepare('SELECT * FROM events WHERE id = ?').get(id) as
      EventDbRow | undefined;
    return row === undefined ? null : toEvent(row);
  }

  allEvents(): StoredEvent[] {
    const rows = this.db
      .prepare('SELECT * FROM events WHERE deleted_at IS NULL ORDER BY created_at DESC')
      .all() as EventDbRow[];
    return rows.map(toEvent);
  }

  setState(id: string, state: EventState, publishedAt?: number): void {
    this.db
      .prepare(
        `UPDATE events SET phase = ?, round = ?, version = ?, deadline = ?,
           published_at = COALESCE(published_at, ?) WHERE id = ?`,
      )
      .run(state.phase, state.round, state.version, state.deadline, publishedAt ?? null, id);
  }

  markDeleted(id: string, at: number): void {
    this.db
      .prepare('UPDATE events SET deleted_at = COALESCE(deleted_at, ?) WHERE id = ?')
      .run(at, id);
  }

  /** Events in voting whose deadline has passed (the master decides them). */
  votingEvents(): StoredEvent[] {
    const rows = this.db
      .prepare("SELECT * FROM events WHERE phase = 'voting' AND deleted_at IS NULL")
      .all() as EventDbRow[];
    return rows.map(toEvent);
  }

  // --- photos, participants, votes ----------------------------------------------------------

  insertPhoto(eventId: string, position: number, txId: string, photo: PhotoPayload): void {
    this.db
      .prepare(
        `INSERT INTO event_photos (event_id, position, tx_id, body) VALUES (?, ?, ?, ?)
         ON CONFLICT DO NOTHING`,
      )
      .run(eventId, position, txId, JSON.stringify(photo));
  }

  /**
   * The photos of montage version `upTo` (default: the latest), in commit order: those committed
   * at or before it, less the photos of participants removed at or before it.
   */
  photos(eventId: string, upTo = Number.MAX_SAFE_INTEGER): StoredPhoto[] {
    const rows = this.db
      .prepare(
        `SELECT position, tx_id, body FROM event_photos p
         WHERE event_id = ? AND position <= ?
           AND NOT EXISTS (
             SELECT 1 FROM event_removals r
             WHERE r.event_id = p.event_id AND r.version <= ?
               AND r.participant_id = json_extract(p.body, '$.participantId'))
         ORDER BY position`,
      )
      .all(eventId, upTo, upTo) as { position: number; tx_id: string; body: string }[];
    return rows.map((r) => ({
      position: r.position,
      txId: r.tx_id,
      photo: JSON.parse(r.body) as PhotoPayload,
    }));
  }

  insertRemoval(eventId: string, participantId: string, version: number, at: number): void {
    this.db
      .prepare(
        `INSERT INTO event_removals (event_id, participant_id, version, removed_at)
         VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING`,
      )
      .run(eventId, participantId, version, at);
  }

  removedParticipants(eventId: string): Set<string> {
    const ids = this.db
      .prepare('SELECT participant_id FROM event_removals WHERE event_id = ?')
      .pluck()
      .all(eventId) as string[];
    return new Set(ids);
  }

  /**
   * Records a participant once; a later copy only fills what the first lacked (a photo commit
   * can record its submitter before the join notice with the account and recovery hash).
   */
  insertParticipant(eventId: string, p: Participant): void {
    this.db
      .prepare(
        `INSERT INTO event_participants
           (event_id, id, name, site_id, site_name, username, joined_at, recovery_hash)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (event_id, id) DO UPDATE SET
           username = COALESCE(event_participants.username, excluded.username),
           recovery_hash = COALESCE(event_participants.recovery_hash, excluded.recovery_hash)`,
      )
      .run(eventId, p.id, p.name, p.siteId, p.siteName, p.username, p.joinedAt, p.recoveryHash);
  }

  participants(eventId: string): Participant[] {
    const rows = this.db
      .prepare(
        `SELECT * FROM event_participants p WHERE event_id = ?
           AND NOT EXISTS (SELECT 1 FROM event_removals r
                           WHERE r.event_id = p.event_id AND r.participant_id = p.id)
         ORDER BY joined_at, id`,
      )
      .all(eventId) as {
      id: string;
      name: string;
      site_id: string;
      site_name: string;
      username: string | null;
      joined_at: number;
      recovery_hash: string | null;
    }[];
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
  insertVote(eventId: string, round: number, vote: Vote, castAt: number): boolean {
    const result = this.db
      .prepare(
        `INSERT INTO event_votes (event_id, round, participant_id, version, decision, cast_at)
         VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
      )
      .run(eventId, round, vote.participantId, vote.version, vote.decision, castAt);
    return result.changes === 1;
  }

  votes(eventId: string, round: number): Vote[] {
    const rows = this.db
      .prepare(
        'SELECT participant_id, version, decision FROM event_votes WHERE event_id = ? AND round = ?',
      )
      .all(eventId, round) as { participant_id: string; version: number; decision: VoteDecision }[];
    return rows.map((r) => ({
      participantId: r.participant_id,
      version: r.version,
      decision: r.decision,
    }));
  }

  // --- the 2PC log --------------------------------------------------------------------------

  logTx(
    role: 'coordinator' | 'participant',
    id: string,
    eventId: string,
    coordinator: Site,
    body: TxBody,
    state: CoordinatorState | ParticipantState,
    now: number,
  ): void {
    this.db
      .prepare(
        `INSERT INTO event_tx (id, role, event_id, kind, coordinator, body, state, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (id, role) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at`,
      )
      .run(
        id,
        role,
        eventId,
        body.kind,
        JSON.stringify(coordinator),
        JSON.stringify(body),
        state,
        now,
      );
  }

  /** Remembers that a transaction never prepared here was aborted (refuses a late prepare). */
  logAbortTombstone(id: string, eventId: string, now: number): void {
    this.db
      .prepare(
        `INSERT INTO event_tx (id, role, event_id, kind, coordinator, body, state, updated_at)
         VALUES (?, 'participant', ?, 'photo', 'null', 'null', 'aborted', ?) ON CONFLICT DO NOTHING`,
      )
      .run(id, eventId, now);
  }

  coordinatorTx(id: string): TxRow<CoordinatorState> | null {
    return this.tx<CoordinatorState>('coordinator', id);
  }

  participantTx(id: string): TxRow<ParticipantState> | null {
    return this.tx<ParticipantState>('participant', id);
  }

  /** Whether some transaction of the event is prepared here and not yet decided. */
  holdsPrepared(eventId: string, except?: string): boolean {
    const row = this.db
      .prepare(
        `SELECT 1 FROM event_tx WHERE event_id = ? AND role = 'participant' AND state = 'prepared'
           AND id != ? LIMIT 1`,
      )
      .get(eventId, except ?? '');
    return row !== undefined;
  }

  openCoordinatorTxs(): TxRow<CoordinatorState>[] {
    return this.txs<CoordinatorState>(
      "SELECT * FROM event_tx WHERE role = 'coordinator' AND state = 'preparing'",
    );
  }

  /** Participant transactions prepared and undecided since before `olderThan`. */
  inDoubt(olderThan: number): TxRow<ParticipantState>[] {
    return this.txs<ParticipantState>(
      `SELECT * FROM event_tx WHERE role = 'participant' AND state = 'prepared' AND updated_at < ${Math.floor(olderThan)}`,
    );
  }

  private tx<S>(role: string, id: string): TxRow<S> | null {
    const row = this.db
      .prepare('SELECT * FROM event_tx WHERE id = ? AND role = ?')
      .get(id, role) as TxDbRow | undefined;
    return row === undefined ? null : toTx<S>(row);
  }

  private txs<S>(sql: string): TxRow<S>[] {
    return (this.db.prepare(sql).all() as TxDbRow[]).map((r) => toTx<S>(r));
  }

  // --- outbox -------------------------------------------------------------------------------

  enqueue(site: Site, path: string, body: unknown, now: number): number {
    const result = this.db
      .prepare('INSERT INTO event_outbox (site, path, body, next_at) VALUES (?, ?, ?, ?)')
      .run(JSON.stringify(site), path, JSON.stringify(body), now);
    return Number(result.lastInsertRowid);
  }

  due(now: number, limit = 100): OutboxRow[] {
    const rows = this.db
      .prepare('SELECT * FROM event_outbox WHERE next_at <= ? ORDER BY id LIMIT ?')
      .all(now, limit) as OutboxDbRow[];
    return rows.map(toOutbox);
  }

  outboxRow(id: number): OutboxRow | null {
    const row = this.db.prepare('SELECT * FROM event_outbox WHERE id = ?').get(id) as
      OutboxDbRow | undefined;
    return row === undefined ? null : toOutbox(row);
  }

  /**
   * Outbox bookkeeping is written without its own fsync (WAL, `synchronous = NORMAL` for this
   * one statement; the next durable commit carries it): if a crash loses it, the message is
   * only sent again, and every receiver takes a message twice. That saves an fsync, which
   * blocks the event loop, per message acknowledged (docs/benchmarks.md).
   */
  acked(id: number): void {
    this.lightly(() => this.db.prepare('DELETE FROM event_outbox WHERE id = ?').run(id));
  }

  retryLater(id: number, nextAt: number): void {
    this.lightly(() =>
      this.db
        .prepare('UPDATE event_outbox SET attempts = attempts + 1, next_at = ? WHERE id = ?')
        .run(nextAt, id),
    );
  }

  private lightly(write: () => unknown): void {
    if (this.db.inTransaction) {
      write();
      return;
    }
    this.db.pragma('synchronous = NORMAL');
    try {
      write();
    } finally {
      this.db.pragma('synchronous = FULL');
    }
  }

  countByPhase(): Partial<Record<Phase, number>> {
    const rows = this.db
      .prepare('SELECT phase, COUNT(*) AS n FROM events WHERE deleted_at IS NULL GROUP BY phase')
      .all() as { phase: Phase; n: number }[];
    return Object.fromEntries(rows.map((r) => [r.phase, r.n]));
  }

  outboxSize(): number {
    return this.db.prepare('SELECT COUNT(*) FROM event_outbox').pluck().get() as number;
  }
}

interface OutboxDbRow {
  id: number;
  site: string;
  path: string;
  body: string;
  attempts: number;
  next_at: number;
}

function toOutbox(r: OutboxDbRow): OutboxRow {
  return {
    id: r.id,
    site: JSON.parse(r.site) as Site,
    path: r.path,
    body: r.body,
    attempts: r.attempts,
    nextAt: r.next_at,
  };
}

function toEvent(row: EventDbRow): StoredEvent {
  return {
    record: JSON.parse(row.record) as EventRecord,
    state: { phase: row.phase, round: row.round, version: row.version, deadline: row.deadline },
    publishedAt: row.published_at,
    deletedAt: row.deleted_at,
  };
}

function toTx<S>(row: TxDbRow): TxRow<S> {
  return {
    id: row.id,
    eventId: row.event_id,
    kind: row.kind,
    coordinator: JSON.parse(row.coordinator) as Site,
    body: JSON.parse(row.body) as TxBody,
    state: row.state as S,
    updatedAt: row.updated_at,
  };
}
