/**
 * Conflict copies whose content no node holds (FolderPull's helper). A copy is made from the
 * losing version's metadata, by whichever node sees the conflict; its bytes may exist only at
 * the loser's author, who may save over them or delete them before any node fetched them. Then
 * no node can ever bring the copy and every node would need it for good (fault tier seeds
 * 830412091 and 9798135: `needFiles` 2 at all four nodes, trees equal). The user replaced that
 * content themselves, so no version a user kept is lost by retiring the copy: once every peer
 * has answered, in RETIRE_AFTER_PULLS pulls in a row, that it lacks the content (a peer that
 * does not answer keeps the copy waiting: its trash may hold the bytes), this node deletes the
 * copy by an operation that dominates it; other nodes doing the same log concurrent deletes,
 * which merge (docs/architecture.md, "Why folders converge").
 *
 * Only a copy of a version written by a node (`nodeNames`: this node and its peers) is retired:
 * then its author is among the peers that said they lack it. A laptop's lost version may live
 * only on that laptop, which no node can ask (fault tier seed 859052651: n1 retired dev1's copy
 * while dev1 was cut off, and dev1's version was gone). And a device retires nothing (it has no
 * `nodeNames`): its one source, its node, may lack what another node holds (seed 202570533).
 */
import type { FilePut } from '../oplog/op.js';
import { bumpVv } from './core/index.js';
import type { FolderFileRow } from './folder-index.repository.js';
import type { FolderSyncDeps } from './folder-sync.js';

/** Pulls in a row in which every peer lacked a copy's content before it is retired. */
export const RETIRE_AFTER_PULLS = 3;

export class UnobtainableCopies {
  /** Copies every peer said it lacks in this pull. */
  private lacked: FolderFileRow[] = [];
  /** In how many pulls in a row, by path. */
  private readonly pulls = new Map<string, number>();

  constructor(private readonly deps: FolderSyncDeps) {}

  startPull(): void {
    this.lacked = [];
  }

  /** Every peer answered, in this pull, that it lacks the content of this copy. */
  lackedByAll(row: FolderFileRow): void {
    // Only a node's lost version: its author was asked and lacks it too (see the header).
    if (row.originName === null || this.deps.nodeNames?.().has(row.originName) !== true) return;
    this.lacked.push(row);
  }

  /** Counts the pulls; retires the copies lacked RETIRE_AFTER_PULLS pulls in a row. */
  async endPull(): Promise<void> {
    const due: FolderFileRow[] = [];
    const counted = new Map<string, number>();
    for (const row of this.lacked) {
      const pulls = (this.pulls.get(row.path) ?? 0) + 1;
      if (pulls >= RETIRE_AFTER_PULLS) due.push(row);
      else counted.set(row.path, pulls);
    }
    this.lacked = [];
    this.pulls.clear();
    for (const [path, pulls] of counted) this.pulls.set(path, pulls);
    await this.retire(due);
  }

  private async retire(rows: readonly FolderFileRow[]): Promise<void> {
    const { changes, index, selfId, selfName } = this.deps;
    const folder = this.deps.config.id;
    const bodies: FilePut[] = rows
      .filter((row) => {
        // Still that version, still needed, nothing indexed on disk there.
        const now = index.get(folder, row.path);
        return (
          now?.hlc === row.hlc && now.need && now.localInode === null && now.localSize === null
        );
      })
      .map((row) => ({
        kind: 'file.put',
        folder,
        path: row.path,
        entry: 'file',
        deleted: true,
        hash: null,
        size: 0,
        mtimeMs: Date.now(),
        vv: bumpVv(row.vv, selfId),
        originName: selfName,
      }));
    if (bodies.length === 0) return;
    await changes.commitMany(bodies);
    this.deps.log.warn(
      { folder, paths: bodies.slice(0, 10).map((b) => b.path), count: bodies.length },
      'conflict copies retired: every peer lacks their content (saved over or deleted by its author)',
    );
  }
}
