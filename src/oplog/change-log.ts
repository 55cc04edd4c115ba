import type { Db } from '../db/database.js';
import type { HybridClock } from '../core/hlc.js';
import { applyOp, type ApplyTargets } from './apply.js';
import type { Op, OpBody } from './op.js';
import type { OpLogRepository } from './oplog.repository.js';

export type OpListener = (ops: readonly Op[]) => void;

/**
 * The one door through which state changes: a local change becomes an operation that is
 * stamped, logged and applied in a single SQLite transaction; replicated operations are
 * logged and applied the same way, and duplicates are skipped.
 */
export class ChangeLog {
  private readonly listeners = new Set<OpListener>();

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
   * changes applying them calls for (conflict copies), until there are none. Returns them all.
   */
  private commitInside(bodies: readonly OpBody[]): Op[] {
    const all: Op[] = [];
    let next = bodies;
    for (let round = 0; next.length > 0; round++) {
      // A copy of a copy is a deeper path: the chain ends long before this.
      if (round > 64) throw new Error('follow-up changes do not end');
      let seq = this.log.lastSeq(this.nodeId);
      const followUps: OpBody[] = [];
      for (const body of next) {
        const op: Op = { origin: this.nodeId, seq: ++seq, hlc: this.clock.next(), body };
        this.log.append(op);
        followUps.push(...applyOp(this.targets, op));
        all.push(op);
      }
      next = followUps;
    }
    return all;
  }

  /**
   * Applies operations received from peers; returns those that were new here. The follow-up
   * changes they call for (conflict copies) are logged as this node's own operations in the
   * same transaction, and announced with them.
   */
  receive(ops: readonly Op[]): Op[] {
    const { fresh, own } = this.db
      .transaction(() => {
        const applied: Op[] = [];
        const followUps: OpBody[] = [];
        for (const op of ops) {
          if (!this.log.append(op)) continue;
          this.clock.observe(op.hlc);
          followUps.push(...applyOp(this.targets, op));
          applied.push(op);
        }
        return { fresh: applied, own: this.commitInside(followUps) };
      })
      .immediate();
    if (fresh.length > 0 || own.length > 0) this.emit([...fresh, ...own]);
    return fresh;
  }

  onOps(listener: OpListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(ops: readonly Op[]): void {
    for (const listener of this.listeners) listener(ops);
  }
}
