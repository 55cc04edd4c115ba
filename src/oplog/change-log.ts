import { decodeHlc, maxHlc, MAX_DRIFT_MS } from '../core/hlc.js';
import type { Executor, MetadataStore } from '../storage/metadata/dialect.js';
import type { OpClockRepository } from '../storage/metadata/op-clock.repository.js';
import { transactionWithRetry } from '../storage/metadata/retry.js';
import type { Transaction } from 'kysely';
import type { Schema } from '../storage/metadata/schema.js';
import { applyOp, lockTargets, type ApplyTargets } from './apply.js';
import type { Op, OpBody } from './op.js';
import type { OpLogRepository } from './oplog.repository.js';

export type OpListener = (ops: readonly Op[]) => void;

/** Why a received operation was not taken in (see `receive`). */
export type RejectionCode =
  'own_origin' | 'not_sender' | 'foreign_hlc' | 'clock_ahead' | 'conflict';

export interface Rejection {
  readonly origin: string;
  readonly seq: number;
  readonly code: RejectionCode;
  readonly message: string;
}

/** What `take` did: the received operations applied or refused, and this node's follow-ups. */
interface Taken extends ReceiveResult {
  readonly own: Op[];
}

export interface ReceiveResult {
  /** The operations that were new here, logged and applied. */
  readonly applied: Op[];
  /** The operations refused (not logged; a 'clock_ahead' one is taken when offered later). */
  readonly rejected: Rejection[];
}

export type RejectionListener = (rejected: readonly Rejection[]) => void;

/** A caller that cannot skip an operation (a cursor past it would lose it) got a refusal. */
export class OpsRefusedError extends Error {
  constructor(readonly rejected: readonly Rejection[]) {
    super(
      `${rejected.length} operation(s) refused: ${rejected
        .slice(0, 3)
        .map((r) => `${r.origin}#${r.seq} ${r.message}`)
        .join('; ')}`,
    );
    this.name = 'OpsRefusedError';
  }
}

/** Work that must commit or roll back with the operations (same transaction). */
export type Alongside = (trx: Executor, ops: readonly Op[]) => Promise<void> | void;

/**
 * The one door through which state changes: a local change becomes an operation that is
 * stamped, logged and applied in a single transaction of the metadata store; replicated
 * operations are logged and applied the same way, and duplicates are skipped. Sequence numbers
 * and HLCs come from the store's op clock (OpClockRepository), inside that transaction, so
 * they stay unique and ordered whichever process of a site commits.
 */
export class ChangeLog {
  private readonly listeners = new Set<OpListener>();
  private readonly rejectionListeners = new Set<RejectionListener>();
  private reruns = 0;
  /** Own changes wait for this before they are numbered (`holdOwnUntil`); null: none held. */
  private held: Promise<void> | null = null;

  constructor(
    private readonly store: MetadataStore,
    private readonly log: OpLogRepository,
    private readonly clock: OpClockRepository,
    private readonly nodeId: string,
    private readonly targets: ApplyTargets,
    private readonly now: () => number = Date.now,
  ) {}

  /** Records a local change and returns the stamped operation. */
  async commit(body: OpBody): Promise<Op> {
    const [op] = await this.commitMany([body]);
    if (!op) throw new Error('commitMany returned nothing');
    return op;
  }

  /**
   * Records several local changes in one transaction (one fsync): a folder scan of thousands
   * of files commits in batches. `alongside` runs in the same transaction, after the ops are
   * applied, for state that must change atomically with them.
   */
  async commitMany(
    bodies: readonly OpBody[],
    alongside?: Alongside,
    options: {
      /**
       * Asked first, inside the transaction: true commits nothing and returns no ops (a
       * check-then-create that must not race another process of the site: take a lock there
       * with `dialect.lockUntilCommit`, then check).
       */
      readonly unless?: (trx: Executor) => Promise<boolean>;
    } = {},
  ): Promise<Op[]> {
    if (bodies.length === 0) return [];
    if (this.held) await this.held;
    const ops = await this.run(alongside === undefined, async (trx) => {
      if (options.unless && (await options.unless(trx))) return [];
      const stamped = await this.commitInside(trx, bodies);
      await alongside?.(trx, stamped);
      return stamped;
    });
    if (ops.length > 0) this.emit(ops);
    return ops;
  }

  /**
   * Stamps, logs and applies local changes inside the caller's transaction, then the follow-up
   * changes applying them calls for (conflict copies, folder-apply.ts), until there are none.
   * Returns them all.
   */
  private async commitInside(trx: Executor, bodies: readonly OpBody[]): Promise<Op[]> {
    const all: Op[] = [];
    let next = bodies;
    for (let round = 0; next.length > 0; round++) {
      // A copy of a copy is a deeper path: the chain ends long before this.
      if (round > 64) throw new Error('follow-up changes do not end');
      // The rows they change, before the op clock: a receive holds these and then takes the
      // clock (observe), so the clock first here would deadlock with it (PostgreSQL).
      await lockTargets(trx, this.store.dialect, next);
      // The op clock numbers this site's own operations (never MAX(seq) over the log, which an
      // operation claiming this origin could move: those are refused as own_origin anyway).
      const stamps = await this.clock.allocate(trx, this.nodeId, next.length);
      const ops = next.map((body, i): Op => {
        const stamp = stamps[i];
        if (!stamp) throw new Error('op clock gave too few stamps');
        return { origin: this.nodeId, seq: stamp.seq, hlc: stamp.hlc, body };
      });
      const outcomes = await this.log.appendMany(trx, ops, { next: true });
      const taken = outcomes.findIndex((o) => o !== 'logged');
      if (taken >= 0) {
        throw new Error(`Sequence ${ops[taken]?.seq} of this node is already taken in the log`);
      }
      const followUps: OpBody[] = [];
      for (const op of ops) {
        followUps.push(...(await applyOp(trx, this.targets, op)));
        all.push(op);
      }
      next = followUps;
    }
    return all;
  }

  /**
   * Takes in operations from peers (or a device): each is checked, then logged and applied in
   * one transaction; duplicates are skipped. A refused operation is reported, never thrown, so
   * the rest of the batch is applied. Refused:
   *
   * - `own_origin`: it claims this node as origin with a number this node's clock never passed.
   *   This node's operations come only from itself (a device: from its own replica), so one
   *   from outside is forged, or its own past that it lost (its data restored from an older
   *   copy) and has not learnt of yet: once a peer's vector shows that past (`ownPastAt`), the
   *   clock is moved past it and those numbers are taken back like any peer's operations.
   * - `not_sender`: `sender` is given (a push, signed by that node) and the op is not its own:
   *   a node pushes only its own operations (others' travel by pull).
   * - `foreign_hlc`: its timestamp was not issued by its origin's clock (the HLC's node part
   *   is always the origin's id), so it could win last-writer-wins ties it has no right to.
   * - `clock_ahead`: its timestamp is more than MAX_DRIFT_MS ahead of our wall clock. Not
   *   logged, so our version vector keeps asking for it: it is taken when offered again after
   *   our clock has caught up, and our clock is never dragged further than the bound.
   * - `conflict`: another operation with the same (origin, seq) is already logged. The first
   *   stays (it may have been applied and passed on); the second is reported.
   */
  async receive(
    ops: readonly Op[],
    options: { readonly sender?: string } = {},
  ): Promise<ReceiveResult> {
    if (this.held) await this.held;
    const taken = await this.run(true, (trx) => this.take(trx, ops, options.sender));
    this.announce(taken);
    return { applied: taken.applied, rejected: taken.rejected };
  }

  /**
   * `receive` for a caller that cannot skip an operation (a device's feed cursor would move past
   * it): any refusal throws OpsRefusedError and nothing of the batch is applied.
   */
  async receiveAll(ops: readonly Op[], alongside?: Alongside): Promise<Op[]> {
    if (this.held) await this.held;
    const result = await this.store.transaction(async (trx) => {
      const taken = await this.take(trx, ops, undefined);
      if (taken.rejected.length > 0) throw new OpsRefusedError(taken.rejected);
      await alongside?.(trx, taken.applied);
      return taken;
    });
    this.announce(result);
    return result.applied;
  }

  /**
   * Checks, logs and applies; then logs the follow-up changes the applied operations call for
   * (conflict copies) as this node's own operations, in the same transaction (`own`).
   */
  private async take(
    trx: Executor,
    ops: readonly Op[],
    sender: string | undefined,
  ): Promise<Taken> {
    const applied: Op[] = [];
    const rejected: Rejection[] = [];
    const followUps: OpBody[] = [];
    // Checked in memory first, then logged in one pass (issue 16): the log's verdict on each
    // op is the one appending them one by one would give.
    // This node's own numbers its clock has passed: below it, an operation of ours that the log
    // lacks is our own lost past, given back by a peer (`ownPastAt`).
    const ownPassed = ops.some((op) => op.origin === this.nodeId)
      ? ((await this.clock.lastSeq(trx, this.nodeId)) ?? 0)
      : 0;
    const refusals = ops.map((op) => this.refusal(op, sender, ownPassed));
    const candidates = ops.filter((_, i) => refusals[i] === null);
    const outcomes = await this.log.appendMany(trx, candidates);
    // The rows the new ops change, locked all at once in one global order before any is
    // applied (PostgreSQL): processes applying overlapping batches wait instead of deadlocking,
    // and each reads what the one before it committed. Then the op clock, last.
    await lockTargets(
      trx,
      this.store.dialect,
      candidates.filter((_, k) => outcomes[k] === 'logged').map((op) => op.body),
    );
    let newest: string | null = null;
    let c = 0;
    for (const [i, op] of ops.entries()) {
      const refusal = refusals[i];
      if (refusal !== null && refusal !== undefined) {
        rejected.push({ origin: op.origin, seq: op.seq, ...refusal });
        continue;
      }
      const outcome = outcomes[c++];
      if (outcome === 'conflict') {
        rejected.push({
          origin: op.origin,
          seq: op.seq,
          code: 'conflict',
          message: `another operation ${op.origin}#${op.seq} is already logged`,
        });
      }
      if (outcome !== 'logged') continue;
      newest = maxHlc(newest, op.hlc);
      followUps.push(...(await applyOp(trx, this.targets, op)));
      applied.push(op);
    }
    // Our next timestamps come after everything taken in (HLC receive rule), once per batch.
    if (newest !== null) await this.clock.observe(trx, this.nodeId, newest);
    return { applied, rejected, own: await this.commitInside(trx, followUps) };
  }

  /**
   * How many transactions PostgreSQL aborted for a deadlock or a serialization failure and
   * this log ran again. The appliers lock in one order (lockTargets), so it stays 0 unless some
   * other writer takes the same rows in another order.
   */
  get conflictReruns(): number {
    return this.reruns;
  }

  /**
   * A transaction of `fn`; `rerunnable` (everything it does is inside the transaction, and
   * listeners hear only after the commit): run again when aborted by another transaction,
   * instead of failing a peer's push with a 500. An `alongside` of a caller may do more, so a
   * commit with one is run once.
   */
  private run<T>(rerunnable: boolean, fn: (trx: Transaction<Schema>) => Promise<T>): Promise<T> {
    if (!rerunnable) return this.store.transaction(fn);
    return transactionWithRetry(this.store, fn, {
      onRetry: () => {
        this.reruns++;
      },
    });
  }

  private announce(result: Taken): void {
    const ops = [...result.applied, ...result.own];
    if (ops.length > 0) this.emit(ops);
    if (result.rejected.length > 0) {
      for (const listener of this.rejectionListeners) listener(result.rejected);
    }
  }

  onRejected(listener: RejectionListener): () => void {
    this.rejectionListeners.add(listener);
    return () => this.rejectionListeners.delete(listener);
  }

  private refusal(
    op: Op,
    sender: string | undefined,
    ownPassed: number,
  ): Omit<Rejection, 'origin' | 'seq'> | null {
    // Pushed by a node is never ours; pulled with a number our clock passed: our lost past
    // (one we hold already is a duplicate or a conflict, which the log tells).
    if (op.origin === this.nodeId && (sender !== undefined || op.seq > ownPassed)) {
      return { code: 'own_origin', message: 'claims this node as origin' };
    }
    if (sender !== undefined && op.origin !== sender) {
      return { code: 'not_sender', message: `pushed by ${sender}, not by its origin` };
    }
    const stamp = decodeHlc(op.hlc);
    if (stamp.node !== op.origin) {
      return { code: 'foreign_hlc', message: "its timestamp is not from its origin's clock" };
    }
    const ahead = stamp.wall - this.now();
    if (ahead > MAX_DRIFT_MS) {
      return {
        code: 'clock_ahead',
        message: `its timestamp is ${ahead} ms ahead of this node's clock (limit ${MAX_DRIFT_MS} ms); offer it again later`,
      };
    }
    return null;
  }

  /**
   * A peer holds this node's own operations up to `seq` (its version vector says so): if this
   * node's clock is behind that, its data is older than what it had sent (restored from a
   * backup or a snapshot, or a disk that lost its last writes). The clock is moved past `seq`,
   * so that its next operations take numbers no peer holds (they were refused as conflicts
   * everywhere, and lost), and the numbers in between are taken back from the peers (`take`).
   * Returns the seq the clock was at, when it moved; null when nothing was lost.
   */
  /**
   * Holds every change that numbers operations of this node (local commits, and receives,
   * whose conflict copies are ours) until `until` settles. A node starts so until its peers
   * have said how far its own operations got (node.ts): one restored from an older copy would
   * otherwise give its first changes numbers its peers hold already, refused there as
   * conflicts and never seen again. `ownPastAt`, which moves the clock, is not held.
   */
  holdOwnUntil(until: Promise<unknown>): void {
    const held = until.then(
      () => undefined,
      () => undefined,
    );
    this.held = held;
    void held.then(() => {
      if (this.held === held) this.held = null;
    });
  }

  async ownPastAt(seq: number): Promise<number | null> {
    const passed = await this.clock.lastSeq(this.store.db, this.nodeId);
    if (passed !== null && passed >= seq) return null;
    return this.store.transaction((trx) => this.clock.advancePast(trx, this.nodeId, seq));
  }

  onOps(listener: OpListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(ops: readonly Op[]): void {
    for (const listener of this.listeners) listener(ops);
  }
}
