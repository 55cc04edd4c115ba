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
 * A copy is retired only once its version's author said it lacks the content too. A node
 * (`nodeNames`: this node and its peers) says so as one of the peers asked. A laptop is no
 * peer: its lost version may live only on it (fault tier seed 859052651: n1 retired dev1's copy
 * while dev1 was cut off, and dev1's version was gone), so its copy waits until the laptop,
 * shown the node's wanted contents, answers that it holds that content nowhere (`authorLacks`,
 * from device.service.ts; else every node needed that copy for good: seeds 664734563,
 * 773459130), or until the laptop is removed from the folder by its owner or an admin (no
 * device left under its name: `goneAuthors`): a laptop lost for good answers nothing. And a
 * device retires nothing (it has no `nodeNames` and hears no author): its one
 * source, its node, may lack what another node holds (seed 202570533).
 */
import { forgetOldest } from '../core/forget-oldest.js';
import type { FilePut } from '../oplog/op.js';
import { bumpVv } from './core/index.js';
import type { FolderFileRow } from './folder-index.repository.js';
import type { FolderSyncDeps } from './folder-sync.js';

/** Pulls in a row in which every peer lacked a copy's content before it is retired. */
export const RETIRE_AFTER_PULLS = 3;
/** The next pull's delay while copies count towards retirement (not the stalls' back-off). */
export const RETIRING_RETRY_MS = 2000;
/** Laptop answers kept (the oldest go first); a laptop answers again at each push. */
const AUTHOR_ANSWERS_KEPT = 10_000;

export class UnobtainableCopies {
  /** Copies every peer said it lacks in this pull. */
  private lacked: FolderFileRow[] = [];
  /** Of those, copies whose author (no node, not known to lack it) may be a removed device. */
  private unanswered: FolderFileRow[] = [];
  /** In how many pulls in a row, by path. */
  private readonly pulls = new Map<string, number>();
  /** `name\0hash`: the author of that name (every laptop of it) holds the content nowhere. */
  private readonly authorsLacking = new Set<string>();

  constructor(private readonly deps: FolderSyncDeps) {}

  startPull(): void {
    this.lacked = [];
    this.unanswered = [];
  }

  /**
   * The author of these contents, a laptop named `name` (every laptop of that name), said it
   * holds them nowhere: copies of its versions with them may retire as a node's do. True when
   * that is news (not said before).
   */
  authorLacks(name: string, hashes: readonly string[]): boolean {
    let news = false;
    for (const hash of hashes) {
      const key = `${name}\0${hash}`;
      // Deleted and added again: the latest answers are the last forgotten.
      const known = this.authorsLacking.delete(key);
      this.authorsLacking.add(key);
      news ||= !known;
    }
    forgetOldest(this.authorsLacking, AUTHOR_ANSWERS_KEPT);
    return news;
  }

  /** Every peer answered, in this pull, that it lacks the content of this copy. */
  lackedByAll(row: FolderFileRow): void {
    // Only once its author lacks it too (see the header).
    const author = row.originName;
    if (author === null || row.hash === null) return;
    const asked =
      this.deps.nodeNames?.().has(author) === true ||
      this.authorsLacking.has(`${author}\0${row.hash}`);
    if (asked) this.lacked.push(row);
    else this.unanswered.push(row);
  }

  /**
   * Counts the pulls; retires the copies lacked RETIRE_AFTER_PULLS pulls in a row. Resolves
   * true when copies are still counting (the next pull should come soon).
   */
  async endPull(): Promise<boolean> {
    await this.takeGoneAuthors();
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
    return counted.size > 0;
  }

  /** Copies of versions whose author is a device removed from the folder count as asked. */
  private async takeGoneAuthors(): Promise<void> {
    const rows = this.unanswered;
    this.unanswered = [];
    if (rows.length === 0 || this.deps.goneAuthors === undefined) return;
    const gone = await this.deps.goneAuthors(this.deps.config.id);
    for (const row of rows)
      if (row.originName !== null && gone.has(row.originName)) this.lacked.push(row);
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
