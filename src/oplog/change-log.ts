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
        let seq = this.log.lastSeq(this.nodeId);
        const stamped = bodies.map((body): Op => {
          const op: Op = { origin: this.nodeId, seq: ++seq, hlc: this.clock.next(), body };
          this.log.append(op);
          applyOp(this.targets, op);
          return op;
        });
        alongside?.(stamped);
        return stamped;
      })
      .immediate();
    this.emit(ops);
    return ops;
  }

  /** Applies operations received from peers; returns those that were new here. */
  receive(ops: readonly Op[]): Op[] {
    const fresh = this.db
      .transaction((): Op[] => {
        const applied: Op[] = [];
        for (const op of ops) {
          if (!this.log.append(op)) continue;
          this.clock.observe(op.hlc);
          applyOp(this.targets, op);
          applied.push(op);
        }
        return applied;
      })
      .immediate();
    if (fresh.length > 0) this.emit(fresh);
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
