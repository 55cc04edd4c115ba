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
import type { Op } from '../oplog/op.js';
import type { OpLogRepository } from '../oplog/oplog.repository.js';
import type { DeviceCursor } from './device-schemas.js';

export interface FeedPage {
  readonly ops: Op[];
  readonly cursor: DeviceCursor;
  readonly more: boolean;
}

export class DeviceFeed {
  constructor(private readonly oplog: OpLogRepository) {}

  /** Up to `limit` operations for `device` of `folder` past `cursor`, and the cursor after them. */
  async read(
    folder: string,
    device: string,
    cursor: DeviceCursor,
    limit: number,
  ): Promise<FeedPage> {
    const next: Record<string, number> = { ...cursor };
    const ops: Op[] = [];
    for (const [origin, contiguous] of Object.entries(await this.oplog.versionVector())) {
      if (origin === device) continue; // never a device's own changes back
      const from = cursor[origin] ?? 0;
      if (from >= contiguous) continue;
      const page = await this.oplog.folderRange(
        origin,
        from,
        contiguous,
        folder,
        limit - ops.length,
      );
      ops.push(...page);
      if (ops.length >= limit) {
        next[origin] = page[page.length - 1]?.seq ?? from;
        return { ops, cursor: next, more: true };
      }
      next[origin] = contiguous;
    }
    return { ops, cursor: next, more: false };
  }
}
