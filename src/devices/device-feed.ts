/**
 * What a device of a folder has not seen yet: the folder's `file.put` operations in the node's
 * op log, of every origin but the device itself, past the device's cursor.
 *
 * The cursor is per origin, like a version vector, but over the *folder's* operations only: a
 * device never holds the node's other operations (pictures, accounts), so its own op log could
 * not say "everything up to n". The node reads each origin only up to its own contiguous prefix
 * (what it holds without gaps), so an operation that arrives late at the node, behind a gap, is
 * still ahead of every cursor. Origins and sequence numbers are the cluster's, so a cursor read
 * at one node is valid at any other node of the cluster.
 */
import type { Db } from '../db/database.js';
import type { Op } from '../oplog/op.js';
import { rowToOp, type OpLogRepository } from '../oplog/oplog.repository.js';
import type { DeviceCursor } from './device-schemas.js';

export interface FeedPage {
  readonly ops: Op[];
  readonly cursor: DeviceCursor;
  readonly more: boolean;
}

export class DeviceFeed {
  private readonly rangeStmt;

  constructor(
    db: Db,
    private readonly oplog: OpLogRepository,
  ) {
    this.rangeStmt = db.prepare(
      `SELECT origin, seq, hlc, body FROM ops
       WHERE origin = ? AND seq > ? AND seq <= ? AND kind = 'file.put'
         AND json_extract(body, '$.folder') = ?
       ORDER BY seq LIMIT ?`,
    );
  }

  /** Up to `limit` operations for `device` of `folder` past `cursor`, and the cursor after them. */
  read(folder: string, device: string, cursor: DeviceCursor, limit: number): FeedPage {
    const next: Record<string, number> = { ...cursor };
    const ops: Op[] = [];
    for (const [origin, contiguous] of Object.entries(this.oplog.versionVector())) {
      if (origin === device) continue; // never a device's own changes back
      const from = cursor[origin] ?? 0;
      if (from >= contiguous) continue;
      const rows = this.rangeStmt.all(origin, from, contiguous, folder, limit - ops.length) as {
        origin: string;
        seq: number;
        hlc: string;
        body: string;
      }[];
      for (const row of rows) ops.push(rowToOp(row));
      if (ops.length >= limit) {
        next[origin] = rows[rows.length - 1]?.seq ?? from;
        return { ops, cursor: next, more: true };
      }
      next[origin] = contiguous;
    }
    return { ops, cursor: next, more: false };
  }
}
