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
 *
 * A removed laptop's versions that are no copies retire the same way (every peer lacks the
 * content, pull after pull): it pushed them and never uploaded their bytes. The path gets back
 * the file this disk holds there (the version the laptop's was to replace), or is deleted when
 * nothing is there. Any other author's version that no peer holds stays needed.
 */
import { forgetOldest } from '../core/forget-oldest.js';
import type { FilePut } from '../oplog/op.js';
import { bumpVv, isConflictName } from './core/index.js';
import type { FolderFileRow } from './folder-index.repository.js';
import type { FolderSyncDeps } from './folder-sync.js';

/** Pulls in a row in which every peer lacked a copy's content before it is retired. */
export const RETIRE_AFTER_PULLS = 3;
/** The next pull's delay while copies count towards retirement (not the stalls' back-off). */
export const RETIRING_RETRY_MS = 2000;
/** Laptop answers kept (the oldest go first); a laptop answers again at each push. */
const AUTHOR_ANSWERS_KEPT = 10_000;

export class UnobtainableCopies {
  /** Versions every peer said it lacks in this pull that count towards retirement, by path. */
  private lacked = new Map<string, FolderFileRow>();
  /**
   * Versions every peer said it lacks whose author is no node known to lack them (a laptop that
   * has not said so, or any author of a version that is no copy): they retire only if that
   * author is a device removed from the folder.
   */
  private unanswered = new Map<string, FolderFileRow>();
  /** In how many pulls in a row, by path. */
  private readonly pulls = new Map<string, number>();
  /** `name\0hash`: the author of that name (every laptop of it) holds the content nowhere. */
  private readonly authorsLacking = new Set<string>();

  constructor(private readonly deps: FolderSyncDeps) {}

  startPull(): void {
    this.lacked.clear();
    this.unanswered.clear();
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

  /**
   * Every peer answered, in this pull, that it lacks the content of this version (a copy or
   * not: which of them may retire is decided here).
   */
  lackedByAll(row: FolderFileRow): void {
    const author = row.originName;
    if (author === null || row.hash === null) return;
    // A copy only once its author lacks it too (see the header); any other version only once
    // its author is a removed laptop (`takeGoneAuthors`).
    const asked =
      isConflictName(row.path) &&
      (this.deps.nodeNames?.().has(author) === true ||
        this.authorsLacking.has(`${author}\0${row.hash}`));
    if (asked) this.lacked.set(row.path, row);
    else this.unanswered.set(row.path, row);
  }

  /**
   * Counts the pulls; retires the copies lacked RETIRE_AFTER_PULLS pulls in a row. Resolves
   * true when copies are still counting (the next pull should come soon).
   */
  async endPull(): Promise<boolean> {
    await this.takeGoneAuthors();
    const due: FolderFileRow[] = [];
    const counted = new Map<string, number>();
    for (const row of this.lacked.values()) {
      const pulls = (this.pulls.get(row.path) ?? 0) + 1;
      if (pulls >= RETIRE_AFTER_PULLS) due.push(row);
      else counted.set(row.path, pulls);
    }
    this.lacked.clear();
    this.pulls.clear();
    for (const [path, pulls] of counted) this.pulls.set(path, pulls);
    await this.retire(due);
    return counted.size > 0;
  }

  /** Versions whose author is a device removed from the folder count as asked. */
  private async takeGoneAuthors(): Promise<void> {
    const rows = [...this.unanswered.values()];
    this.unanswered.clear();
    if (rows.length === 0 || this.deps.goneAuthors === undefined) return;
    const gone = await this.deps.goneAuthors(this.deps.config.id);
    for (const row of rows)
      if (row.originName !== null && gone.has(row.originName)) this.lacked.set(row.path, row);
  }

  /**
   * Each row still that version and still needed gets an operation of this node that dominates
   * it: a deletion when nothing is indexed on disk at its path; when this disk holds a file
   * there (the version before, which the lost one was to replace), that file again, so that
   * no node deletes what every node still has. A copy with something on disk is left alone.
   */
  private async retire(rows: readonly FolderFileRow[]): Promise<void> {
    const { changes, index, selfId, selfName } = this.deps;
    const folder = this.deps.config.id;
    const bodies: FilePut[] = [];
    for (const row of rows) {
      const now = index.get(folder, row.path);
      if (now?.hlc !== row.hlc || !now.need) continue;
      const vv = bumpVv(row.vv, selfId);
      const base = { kind: 'file.put', folder, path: row.path, entry: 'file', vv } as const;
      if (now.localInode === null && now.localSize === null) {
        bodies.push({
          ...base,
          deleted: true,
          hash: null,
          size: 0,
          mtimeMs: Date.now(),
          originName: selfName,
        });
      } else if (!isConflictName(row.path) && now.localHash !== null && now.localSize !== null) {
        bodies.push({
          ...base,
          deleted: false,
          hash: now.localHash,
          size: now.localSize,
          mtimeMs: now.localMtimeMs ?? Date.now(),
          originName: selfName,
        });
      }
    }
    if (bodies.length === 0) return;
    await changes.commitMany(bodies);
    const copies = bodies.filter((b) => isConflictName(b.path));
    const others = bodies.filter((b) => !isConflictName(b.path));
    if (copies.length > 0) {
      this.deps.log.warn(
        { folder, paths: copies.slice(0, 10).map((b) => b.path), count: copies.length },
        'conflict copies retired: every peer lacks their content (saved over or deleted by its author)',
      );
    }
    if (others.length > 0) {
      this.deps.log.warn(
        {
          folder,
          paths: others.slice(0, 10).map((b) => b.path),
          kept: others.filter((b) => !b.deleted).length,
          count: others.length,
        },
        'versions of removed laptops retired: no node holds their content; each path keeps what this disk holds there, or is deleted',
      );
    }
  }
}
