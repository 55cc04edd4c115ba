import type { Db } from '../db/database.js';
import type { Op, OpBody } from './op.js';

interface OpRow {
  origin: string;
  seq: number;
  hlc: string;
  body: string;
}

export interface OpPosition {
  readonly origin: string;
  readonly seq: number;
}

/**
 * The durable log of operations. It is also the replication outbox: what a peer still needs is
 * whatever lies past its acknowledged position, so nothing is lost across restarts.
 */
export class OpLogRepository {
  private readonly insertStmt;
  private readonly existsStmt;
  private readonly hlcStmt;
  private readonly maxSeqStmt;
  private readonly maxHlcStmt;
  private readonly countStmt;
  private readonly contiguousStmt;
  private readonly setContiguousStmt;
  private readonly vectorStmt;
  private readonly rangeStmt;
  private readonly createdBytesStmt;

  constructor(db: Db) {
    this.insertStmt = db.prepare(
      'INSERT OR IGNORE INTO ops (origin, seq, hlc, kind, body) VALUES (?, ?, ?, ?, ?)',
    );
    this.existsStmt = db.prepare('SELECT 1 FROM ops WHERE origin = ? AND seq = ?').pluck();
    this.hlcStmt = db.prepare('SELECT hlc FROM ops WHERE origin = ? AND seq = ?').pluck();
    this.maxSeqStmt = db.prepare('SELECT MAX(seq) AS seq FROM ops WHERE origin = ?').pluck();
    this.maxHlcStmt = db.prepare('SELECT MAX(hlc) FROM ops').pluck();
    this.countStmt = db.prepare('SELECT COUNT(*) FROM ops').pluck();
    this.contiguousStmt = db.prepare('SELECT contiguous FROM origins WHERE origin = ?').pluck();
    this.setContiguousStmt = db.prepare(
      'INSERT INTO origins (origin, contiguous) VALUES (?, ?) ON CONFLICT (origin) DO UPDATE SET contiguous = excluded.contiguous',
    );
    this.vectorStmt = db.prepare('SELECT origin, contiguous FROM origins ORDER BY origin');
    this.rangeStmt = db.prepare(
      'SELECT origin, seq, hlc, body FROM ops WHERE origin = ? AND seq > ? ORDER BY seq LIMIT ?',
    );
    this.createdBytesStmt = db
      .prepare(
        `SELECT COALESCE(SUM(json_extract(body, '$.size')), 0) FROM ops
         WHERE origin = ? AND seq > ? AND kind = 'picture.create'`,
      )
      .pluck();
  }

  /**
   * Appends an operation; false when it was already there (duplicates are expected). Keeps the
   * origin's contiguous prefix up to date, which is what pulls ask from.
   */
  append(op: Op): boolean {
    const inserted =
      this.insertStmt.run(op.origin, op.seq, op.hlc, op.body.kind, JSON.stringify(op.body))
        .changes === 1;
    if (inserted) {
      // Every origin gets a row (even past a gap) so that pulls list it.
      let contiguous = this.contiguous(op.origin);
      while (this.existsStmt.get(op.origin, contiguous + 1) !== undefined) contiguous++;
      this.setContiguousStmt.run(op.origin, contiguous);
    }
    return inserted;
  }

  /** The timestamp of the logged operation (origin, seq), or null when there is none. */
  hlcOf(origin: string, seq: number): string | null {
    return (this.hlcStmt.get(origin, seq) as string | undefined) ?? null;
  }

  /**
   * The highest sequence of `origin` in the log, gaps and all. Not how a node numbers its own
   * operations (that is `contiguous`, see ChangeLog.commitMany).
   */
  lastSeq(origin: string): number {
    return (this.maxSeqStmt.get(origin) as number | null) ?? 0;
  }

  lastHlc(): string | null {
    return this.maxHlcStmt.get() as string | null;
  }

  count(): number {
    return this.countStmt.get() as number;
  }

  contiguous(origin: string): number {
    return (this.contiguousStmt.get(origin) as number | undefined) ?? 0;
  }

  /** This node's version vector: for each origin, every op up to this seq is here. */
  versionVector(): Record<string, number> {
    const rows = this.vectorStmt.all() as { origin: string; contiguous: number }[];
    return Object.fromEntries(rows.map((r) => [r.origin, r.contiguous]));
  }

  /** Operations of one origin after `seq`, in order. */
  range(origin: string, afterSeq: number, limit: number): Op[] {
    return (this.rangeStmt.all(origin, afterSeq, limit) as OpRow[]).map(rowToOp);
  }

  /**
   * What a peer with version vector `theirs` lacks, ordered by (origin, seq), resuming after
   * `after`. Ops past a gap in our own log are included: the receiver's log skips duplicates.
   */
  missingFor(
    theirs: Readonly<Record<string, number>>,
    after: OpPosition | null,
    limit: number,
  ): { ops: Op[]; next: OpPosition | null } {
    const ops: Op[] = [];
    const origins = (this.vectorStmt.all() as { origin: string }[])
      .map((r) => r.origin)
      .filter((o) => after === null || o >= after.origin);
    for (const origin of origins) {
      let from = theirs[origin] ?? 0;
      if (after !== null && origin === after.origin) from = Math.max(from, after.seq);
      const batch = this.range(origin, from, limit - ops.length);
      ops.push(...batch);
      if (ops.length >= limit) {
        const last = ops[ops.length - 1];
        return { ops, next: last ? { origin: last.origin, seq: last.seq } : null };
      }
    }
    return { ops, next: null };
  }

  /** Bytes of the pictures created by ops of `origin` after `seq` (for replication lag). */
  createdBytesAfter(origin: string, seq: number): number {
    return this.createdBytesStmt.get(origin, seq) as number;
  }
}

export function rowToOp(row: OpRow): Op {
  return { origin: row.origin, seq: row.seq, hlc: row.hlc, body: JSON.parse(row.body) as OpBody };
}
