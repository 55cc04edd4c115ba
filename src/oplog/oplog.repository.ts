import type { Db } from '../db/database.js';
import type { Op, OpBody } from './op.js';

interface OpRow {
  origin: string;
  seq: number;
  hlc: string;
  body: string;
}

/** The durable log of operations, in local arrival order. */
export class OpLogRepository {
  private readonly insertStmt;
  private readonly maxSeqStmt;
  private readonly maxHlcStmt;
  private readonly countStmt;

  constructor(private readonly db: Db) {
    this.insertStmt = db.prepare(
      'INSERT OR IGNORE INTO ops (origin, seq, hlc, kind, body) VALUES (?, ?, ?, ?, ?)',
    );
    this.maxSeqStmt = db.prepare('SELECT MAX(seq) AS seq FROM ops WHERE origin = ?').pluck();
    this.maxHlcStmt = db.prepare('SELECT MAX(hlc) FROM ops').pluck();
    this.countStmt = db.prepare('SELECT COUNT(*) FROM ops').pluck();
  }

  /** Appends an operation; false when it was already there (duplicates are expected). */
  append(op: Op): boolean {
    return (
      this.insertStmt.run(op.origin, op.seq, op.hlc, op.body.kind, JSON.stringify(op.body))
        .changes === 1
    );
  }

  lastSeq(origin: string): number {
    return (this.maxSeqStmt.get(origin) as number | null) ?? 0;
  }

  lastHlc(): string | null {
    return this.maxHlcStmt.get() as string | null;
  }

  count(): number {
    return this.countStmt.get() as number;
  }

  /** Operations after a local position, oldest first (used to push and to serve pulls). */
  since(rowid: number, limit: number): { rowid: number; op: Op }[] {
    const rows = this.db
      .prepare(
        'SELECT rowid, origin, seq, hlc, body FROM ops WHERE rowid > ? ORDER BY rowid LIMIT ?',
      )
      .all(rowid, limit) as (OpRow & { rowid: number })[];
    return rows.map((r) => ({ rowid: r.rowid, op: rowToOp(r) }));
  }
}

export function rowToOp(row: OpRow): Op {
  return { origin: row.origin, seq: row.seq, hlc: row.hlc, body: JSON.parse(row.body) as OpBody };
}
