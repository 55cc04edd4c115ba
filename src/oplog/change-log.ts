import type { Db } from '../db/database.js';
import { decodeHlc, MAX_DRIFT_MS, type HybridClock } from '../core/hlc.js';
import { applyOp, type ApplyTargets } from './apply.js';
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

/**
 * The one door through which state changes: a local change becomes an operation that is
 * stamped, logged and applied in a single SQLite transaction; replicated operations are
 * logged and applied the same way, and duplicates are skipped.
 */
export class ChangeLog {
  private readonly listeners = new Set<OpListener>();
  private readonly rejectionListeners = new Set<RejectionListener>();

  constructor(
    private readonly db: Db,
    private readonly log: OpLogRepository,
    private readonly clock: HybridClock,
    private readonly nodeId: string,
    private readonly targets: ApplyTargets,
  ) {}

  /** Records a local change and returns the stamped operation. */
  commit(body: OpBody): Op {
    const [op] = this.commitMany([body]);
    if (!op) throw new Error('commitMany returned nothing');
    return op;
  }

  /**
   * Records several local changes in one transaction (one fsync): a folder scan of thousands
   * of files commits in batches. `alongside` runs in the same transaction, after the ops are
   * applied, for state that must change atomically with them.
   */
  commitMany(bodies: readonly OpBody[], alongside?: (ops: readonly Op[]) => void): Op[] {
    if (bodies.length === 0) return [];
    const ops = this.db
      .transaction((): Op[] => {
        const stamped = this.commitInside(bodies);
        alongside?.(stamped);
        return stamped;
      })
      .immediate();
    this.emit(ops);
    return ops;
  }

  /**
   * Stamps, logs and applies local changes inside the caller's transaction, then the follow-up
   * changes applying them calls for (conflict copies, folder-apply.ts), until there are none.
   * Returns them all.
   */
  private commitInside(bodies: readonly OpBody[]): Op[] {
    const all: Op[] = [];
    let next = bodies;
    for (let round = 0; next.length > 0; round++) {
      // A copy of a copy is a deeper path: the chain ends long before this.
      if (round > 64) throw new Error('follow-up changes do not end');
      // This node's own contiguous counter, never MAX(seq) over the log: an operation that
      // claims this origin but did not come from here can never move our sequence.
      let seq = this.log.contiguous(this.nodeId);
      const followUps: OpBody[] = [];
      for (const body of next) {
        const op: Op = { origin: this.nodeId, seq: ++seq, hlc: this.clock.next(), body };
        if (!this.log.append(op)) {
          throw new Error(`Sequence ${op.seq} of this node is already taken in the log`);
        }
        followUps.push(...applyOp(this.targets, op));
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
   * - `own_origin`: it claims this node as origin. This node's operations come only from itself
   *   (a device: from its own replica); one from outside is forged or a replay of a lost past.
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
  receive(ops: readonly Op[], options: { readonly sender?: string } = {}): ReceiveResult {
    const taken = this.db.transaction(() => this.take(ops, options.sender)).immediate();
    this.announce(taken);
    return { applied: taken.applied, rejected: taken.rejected };
  }

  /**
   * `receive` for a caller that cannot skip an operation (a device's feed cursor would move past
   * it): any refusal throws OpsRefusedError and nothing of the batch is applied.
   */
  receiveAll(ops: readonly Op[]): Op[] {
    const result = this.db
      .transaction(() => {
        const taken = this.take(ops, undefined);
        if (taken.rejected.length > 0) throw new OpsRefusedError(taken.rejected);
        return taken;
      })
      .immediate();
    this.announce(result);
    return result.applied;
  }

  /**
   * Checks, logs and applies; then logs the follow-up changes the applied operations call for
   * (conflict copies) as this node's own operations, in the same transaction (`own`).
   */
  private take(ops: readonly Op[], sender: string | undefined): Taken {
    const applied: Op[] = [];
    const rejected: Rejection[] = [];
    const followUps: OpBody[] = [];
    for (const op of ops) {
      const refusal = this.refusal(op, sender);
      if (refusal !== null) {
        rejected.push({ origin: op.origin, seq: op.seq, ...refusal });
        continue;
      }
      if (!this.log.append(op)) {
        const held = this.log.hlcOf(op.origin, op.seq);
        if (held !== null && held !== op.hlc) {
          rejected.push({
            origin: op.origin,
            seq: op.seq,
            code: 'conflict',
            message: `another operation ${op.origin}#${op.seq} is already logged`,
          });
        }
        continue;
      }
      this.clock.observe(op.hlc);
      followUps.push(...applyOp(this.targets, op));
      applied.push(op);
    }
    return { applied, rejected, own: this.commitInside(followUps) };
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

  private refusal(op: Op, sender: string | undefined): Omit<Rejection, 'origin' | 'seq'> | null {
    if (op.origin === this.nodeId) {
      return { code: 'own_origin', message: 'claims this node as origin' };
    }
    if (sender !== undefined && op.origin !== sender) {
      return { code: 'not_sender', message: `pushed by ${sender}, not by its origin` };
    }
    if (decodeHlc(op.hlc).node !== op.origin) {
      return { code: 'foreign_hlc', message: "its timestamp is not from its origin's clock" };
    }
    const ahead = this.clock.excessAhead(op.hlc);
    if (ahead > 0) {
      return {
        code: 'clock_ahead',
        message: `its timestamp is ${ahead} ms ahead of this node's clock (limit ${MAX_DRIFT_MS} ms); offer it again later`,
      };
    }
    return null;
  }

  onOps(listener: OpListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(ops: readonly Op[]): void {
    for (const listener of this.listeners) listener(ops);
  }
}
