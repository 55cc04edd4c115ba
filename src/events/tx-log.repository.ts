/**
 * The durable 2PC log of one site (`event_tx`): one row per transaction and role (this site as
 * coordinator, this site as participant), with its state. Written in the same store
 * transaction as what it records (two-phase.*.ts); read again after a crash to recover.
 * Executor first, as in ./event.repository.ts.
 */
import type { Selectable } from 'kysely';
import type { MetadataDialect } from '../storage/metadata/dialect.js';
import type { EventTxTable } from '../storage/metadata/schema.js';
import type { CoordinatorState, ParticipantState } from './core/two-phase.js';
import type { Site, TxBody, TxKind } from './core/types.js';
import type { Executor } from '../storage/metadata/dialect.js';

export type TxRole = 'coordinator' | 'participant';

export interface TxRow<S> {
  readonly id: string;
  readonly eventId: string;
  readonly kind: TxKind;
  readonly coordinator: Site;
  readonly body: TxBody;
  readonly state: S;
  readonly updatedAt: number;
}

export interface TxEntry {
  readonly id: string;
  readonly eventId: string;
  readonly coordinator: Site;
  readonly body: TxBody;
}

export class TxLogRepository {
  constructor(private readonly dialect: MetadataDialect) {}

  /** Logs a transaction in `state`, or moves its existing entry to `state`. */
  async log(
    db: Executor,
    role: TxRole,
    tx: TxEntry,
    state: CoordinatorState | ParticipantState,
    now: number,
  ): Promise<void> {
    await db
      .insertInto('event_tx')
      .values(toValues(role, tx, state, now))
      .onConflict((oc) =>
        oc.columns(['id', 'role']).doUpdateSet((eb) => ({
          state: eb.ref('excluded.state'),
          updated_at: eb.ref('excluded.updated_at'),
        })),
      )
      .execute();
  }

  /**
   * Logs a transaction this site begins to coordinate, `preparing`, unless it is logged
   * already (then false: someone — another process of this site, or an earlier call — started
   * it; a transaction with a fixed id such as a round's outcome is begun once).
   */
  async begin(db: Executor, tx: TxEntry, now: number): Promise<boolean> {
    const inserted = await db
      .insertInto('event_tx')
      .values(toValues('coordinator', tx, 'preparing', now))
      .onConflict((oc) => oc.doNothing())
      .returning('id')
      .executeTakeFirst();
    return inserted !== undefined;
  }

  /** Remembers that a transaction never prepared here was aborted (refuses a late prepare). */
  async logAbortTombstone(db: Executor, id: string, eventId: string, now: number): Promise<void> {
    await db
      .insertInto('event_tx')
      .values({
        id,
        role: 'participant',
        event_id: eventId,
        kind: 'photo',
        coordinator: 'null',
        body: 'null',
        state: 'aborted',
        updated_at: now,
      })
      .onConflict((oc) => oc.doNothing())
      .execute();
  }

  /**
   * A transaction's entry for `role`. With `lock` (inside a transaction), its row stays locked
   * until that transaction ends (PostgreSQL): read it so before moving its state.
   */
  async coordinatorTx(
    db: Executor,
    id: string,
    lock = false,
  ): Promise<TxRow<CoordinatorState> | null> {
    return this.tx<CoordinatorState>(db, 'coordinator', id, lock);
  }

  async participantTx(
    db: Executor,
    id: string,
    lock = false,
  ): Promise<TxRow<ParticipantState> | null> {
    return this.tx<ParticipantState>(db, 'participant', id, lock);
  }

  /** Whether some transaction of the event is prepared here and not yet decided. */
  async holdsPrepared(db: Executor, eventId: string, except?: string): Promise<boolean> {
    const row = await db
      .selectFrom('event_tx')
      .select('id')
      .where('event_id', '=', eventId)
      .where('role', '=', 'participant')
      .where('state', '=', 'prepared')
      // A new invite conflicts with no photo, removal, outcome or vote: it never holds them up
      // (and, never aborting, it may stay prepared while a site is down).
      .where('kind', '!=', 'invite')
      .where('id', '!=', except ?? '')
      .limit(1)
      .executeTakeFirst();
    return row !== undefined;
  }

  async openCoordinatorTxs(db: Executor): Promise<TxRow<CoordinatorState>[]> {
    const rows = await db
      .selectFrom('event_tx')
      .selectAll()
      .where('role', '=', 'coordinator')
      .where('state', '=', 'preparing')
      .execute();
    return rows.map((r) => toTx<CoordinatorState>(r));
  }

  /** Participant transactions prepared and undecided since before `olderThan`. */
  async inDoubt(db: Executor, olderThan: number): Promise<TxRow<ParticipantState>[]> {
    const rows = await db
      .selectFrom('event_tx')
      .selectAll()
      .where('role', '=', 'participant')
      .where('state', '=', 'prepared')
      .where('updated_at', '<', Math.floor(olderThan))
      .execute();
    return rows.map((r) => toTx<ParticipantState>(r));
  }

  private async tx<S>(db: Executor, role: TxRole, id: string, lock: boolean) {
    const row = await db
      .selectFrom('event_tx')
      .selectAll()
      .where('id', '=', id)
      .where('role', '=', role)
      .$if(lock && this.dialect.supportsRowLocks, (qb) => qb.forUpdate())
      .executeTakeFirst();
    return row === undefined ? null : toTx<S>(row);
  }
}

function toValues(
  role: TxRole,
  tx: TxEntry,
  state: CoordinatorState | ParticipantState,
  now: number,
) {
  return {
    id: tx.id,
    role,
    event_id: tx.eventId,
    kind: tx.body.kind,
    coordinator: JSON.stringify(tx.coordinator),
    body: JSON.stringify(tx.body),
    state,
    updated_at: now,
  };
}

function toTx<S>(row: Selectable<EventTxTable>): TxRow<S> {
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
