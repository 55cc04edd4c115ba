/**
 * The write points of folder sync (FolderPull's disk half): every change a pull makes to a
 * folder's files goes through this class, so each is checked here (sec-misc adds its path-safety
 * check at these points):
 * - `place`: a verified temp file into place, only over what was indexed (check, move aside,
 *   check again, link in without replacing);
 * - `remove`: a deletion (moved aside into the trash, checked, put back if a save raced it);
 * - `makeDir`; `trash`; `moveRaced` (a file taken for a move was saved meanwhile).
 * Moving aside into the trash, and putting back a save that raced it: folder-trash-aside.ts.
 * Written disk states are recorded a round at a time (`flush`), in the transaction that also
 * forgets the round's `folder_applying` entries (see docs/architecture.md, "Folder sync").
 */
import { randomUUID } from 'node:crypto';
import { rename, rm, rmdir, utimes } from 'node:fs/promises';
import { mkdirSync, renameSync, rmdirSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { diskState, diskStateSync, tempState, type TempState } from './disk-state.js';
import type { FolderFileRow } from './folder-index.repository.js';
import type { FolderSyncDeps } from './folder-sync.js';
import { folderTmpDir } from './marker.js';
import { assertParentsInside, makeDirsInside } from './inside-folder.js';
import { FolderBeneath } from './beneath.js';
import {
  keepMode,
  linkNoReplace,
  linkNoReplaceSync,
  modeOf,
  mtimeSeconds,
} from './link-no-replace.js';
import { placeEach } from './place-each.js';
import { moveAsideChecked, putBack, trashSlot } from './folder-trash-aside.js';
import { heldHere, matchesIndexed, type WriteRecords } from './write-records.js';

export { matchesIndexed } from './write-records.js';

import { DIR_TMP } from './tmp-sweep.js';

export { DIR_TMP, SMALL_TMP } from './tmp-sweep.js';

/** A file to bring to its needed version, at `target`. */
export interface Wanted {
  readonly row: FolderFileRow;
  readonly target: string;
  readonly hash: string;
}

/** What the writer tells its puller. */
export interface WriterHost {
  /** A file this pull could not bring, and why. */
  stall(row: FolderFileRow, reason: string): void;
  kick(work: { hints: Iterable<string> }): void;
}

export class FolderWriter {
  /** Directories known to exist during a pull (saves a mkdir per file). */
  private readonly madeDirs = new Set<string>();
  /** Files placed by the current pull (progress resets the back-off). */
  placed = 0;
  /** New files' links through the root's descriptor, open until the round's flush. */
  private readonly beneath: FolderBeneath;

  constructor(
    private readonly deps: FolderSyncDeps,
    private readonly host: WriterHost,
    /** The folder's records of its pulls' writes (FolderSync owns them). */
    private readonly records: WriteRecords,
  ) {
    this.beneath = new FolderBeneath(deps.config.root);
  }

  /** A new pull: directories are looked at again, progress counted from zero. */
  startPull(): void {
    this.placed = 0;
    this.madeDirs.clear();
  }

  /** A directory whose entries changed, fsynced before the next records. */
  syncDirLater(dir: string): void {
    this.records.syncDirLater(dir);
  }

  /** A trashed file taken back out of the trash: forgotten with the next records. */
  untrashed(file: string): void {
    this.records.untrashed(file);
  }

  /**
   * Puts a verified temp file at the row's path, only over what was indexed there: a local
   * change wins the race and the next scan makes it a version of its own (issue 11, cause 3).
   * Everything that may wait is done first; then, with nothing awaited in between but the
   * file-system calls themselves:
   *   1. the target is checked against the index;
   *   2. it is moved aside into the trash (one rename), and what was moved is checked again: a
   *      save that landed after step 1 is in it, and is put back (or, if the path is taken
   *      again, kept beside it under a conflict name) for the scan to make it a version;
   *   3. the temp file is linked in without replacing anything (link fails if the path exists
   *      again), so a file created after step 2 also stays.
   * `written` is the temp file's final state when the caller already has it (saves a stat);
   * `logged`: the caller logged the file as about to be linked already (`logLinks`).
   */
  async place(
    wanted: Wanted,
    tmp: string,
    written: TempState | null,
    logged = false,
  ): Promise<void> {
    const { row, target, hash } = wanted;
    let info = written;
    if (info === null) {
      const mtime = mtimeSeconds(row.mtimeMs);
      await utimes(tmp, mtime, mtime);
      info = await tempState(tmp);
      if (info === null) throw new Error(`temp file gone: ${tmp}`);
    }
    await this.ensureParent(row.path);
    const indexedThere = heldHere(row);
    const aside = indexedThere ? await trashSlot(this.root, row.path) : null;
    await this.deps.beforeReplace?.(row.path);
    // Nothing indexed there (a new file, the usual case): linked in without replacing, it needs
    // no check first; if the path is taken, the steps below judge what took it.
    if (aside === null && !indexedThere) {
      // A file of a batch, logged already (small-writes.ts): moved in through the root's
      // descriptor, the kernel refusing symlinks on the way (beneath.ts); else linked by path,
      // parents checked.
      let linked = logged ? this.beneath.move(tmp, row.path) : null;
      if (linked === null) {
        assertParentsInside(this.root, row.path, false);
        if (!logged) this.records.linking(row, info, tmp);
        linked = linkNoReplaceSync(tmp, target);
      }
      if (linked) {
        this.placed++;
        this.records.syncDirLater(dirname(target));
        this.records.record(row, info, hash);
        return;
      }
    }
    // 1.
    const existing = await diskState(target);
    if (existing !== null && !matchesIndexed(row, existing)) {
      await this.lostRace(row, tmp, 'the file here changed since it was indexed; rescanning it');
      return;
    }
    // Removed here since it was indexed: the removal is the user's change, and it must become a
    // version before anything is written over it. Written at once, the removed version stayed
    // undominated: the winner here hid it, and a later delete of the winner by its author
    // brought back, at every node, content nobody held any more (fault tier seed 919834596). The
    // scan logs the removal (scanner.ts `orphans`), then the pull writes what wins over it.
    if (existing === null && indexedThere) {
      await this.lostRace(row, tmp, 'removed here since it was indexed; rescanning it');
      return;
    }
    const mode = existing?.isFile() === true ? await modeOf(target) : null;
    // 2.
    if (existing?.isDirectory()) {
      assertParentsInside(this.root, row.path);
      await rmdir(target);
    } else if (existing && aside !== null) {
      if (!(await moveAsideChecked(this.deps, row, target, aside))) {
        await this.lostRace(row, tmp, 'saved here while being replaced; rescanning it');
        return;
      }
      if (row.localHash !== null) this.records.trashed(row.localHash, aside);
    }
    // 3. Same tick as the link: no symlinked parent can have been followed (inside-folder.ts).
    assertParentsInside(this.root, row.path, false);
    if (!logged) this.records.linking(row, info, tmp);
    if (!(await linkNoReplace(tmp, target))) {
      await this.lostRace(row, tmp, 'created here while being replaced; rescanning it');
      return;
    }
    await keepMode(target, mode);
    this.placed++;
    this.records.syncDirLater(dirname(target));
    this.records.record(row, info, hash);
  }

  /**
   * Files about to be placed (`place` with `logged`), logged in one write before the first of
   * them is linked (link-log.ts).
   */
  logLinks(files: readonly { wanted: Wanted; tmp: string; info: TempState }[]): void {
    this.records.linkingAll(files.map(({ wanted, tmp, info }) => ({ row: wanted.row, info, tmp })));
  }

  /**
   * Puts a batch's logged, flushed temp files (small-writes.ts) at their paths. Those with nothing
   * indexed at their path (new files, the usual case) are moved together in one trip to the
   * pool (`FolderBeneath.moveAll`: each as `place` moves one, below the root's descriptor,
   * replacing nothing); the others, and any the batch did not move (the path taken meanwhile, a
   * symlink on the way, no binding), one at a time by `place`, each through `guard` (the
   * puller's: errors logged, the file stays needed). Throws only when the rest cannot be placed
   * (the folder went away), having reported those (`placeEach`).
   */
  async placeLogged(
    files: readonly { wanted: Wanted; tmp: string; info: TempState }[],
    guard: (row: FolderFileRow, work: () => Promise<void>) => Promise<void>,
  ): Promise<void> {
    const tmpDir = folderTmpDir(this.root);
    const together: typeof files = this.deps.beforeReplace
      ? []
      : files.filter((f) => !heldHere(f.wanted.row) && dirname(f.tmp) === tmpDir);
    const moved = new Set<string>();
    if (together.length > 0) {
      // A parent that cannot be made: the file's move fails, and its `place` below says why.
      for (const f of together) await this.ensureParent(f.wanted.row.path).catch(() => undefined);
      const failures = await this.beneath.moveAllFrom(
        tmpDir,
        together.map((f) => basename(f.tmp)),
        together.map((f) => f.wanted.row.path),
      );
      together.forEach((f, i) => {
        if (failures?.[i] !== null) return;
        moved.add(f.tmp);
        this.placed++;
        this.records.syncDirLater(dirname(f.wanted.target));
        this.records.record(f.wanted.row, f.info, f.wanted.hash);
      });
    }
    await placeEach(
      moved.size === 0 ? files : files.filter((f) => !moved.has(f.tmp)),
      (f) => guard(f.wanted.row, () => this.place(f.wanted, f.tmp, f.info, true)),
      (wanted) => {
        this.notPlaced(wanted);
      },
    );
  }

  /** A file logged by `logLinks` that will not be placed: its temp file is about to go. */
  notPlaced(wanted: Wanted): void {
    this.records.notLinked(wanted.row.path);
  }

  private async lostRace(row: FolderFileRow, tmp: string, reason: string): Promise<void> {
    this.records.notLinked(row.path);
    await rm(tmp, { force: true });
    this.host.stall(row, reason);
    this.host.kick({ hints: [row.path] });
  }

  /**
   * A file taken from its path for a move elsewhere (FromThisDisk.take) was saved meanwhile:
   * back to its path (or beside it), and the path is rescanned so the save becomes a version.
   */
  async moveRaced(row: FolderFileRow, moved: string, target: string): Promise<void> {
    await putBack(this.deps, row, moved, target);
    this.host.stall(row, 'saved here while being moved; rescanning it');
    this.host.kick({ hints: [row.path] });
  }

  /** Makes the parents of a remote path, never through a symlink (inside-folder.ts). */
  private async ensureParent(path: string): Promise<void> {
    const slash = path.lastIndexOf('/');
    const parent = slash < 0 ? '' : path.slice(0, slash);
    if (parent === '' || this.madeDirs.has(parent)) return;
    await makeDirsInside(this.root, parent);
    this.madeDirs.add(parent);
  }

  private get root(): string {
    return this.deps.config.root;
  }

  async remove(row: FolderFileRow, target: string): Promise<void> {
    const info = await diskState(target);
    if (info?.isDirectory()) {
      try {
        assertParentsInside(this.root, row.path, false);
        await rmdir(target);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOTEMPTY') return; // children first; retried
        throw error;
      }
    } else if (info) {
      // Moved aside, then checked: a save that landed since applyOne's check is put back.
      const aside = await trashSlot(this.root, row.path);
      if (!(await moveAsideChecked(this.deps, row, target, aside))) {
        this.host.stall(row, 'saved here while being deleted; rescanning it');
        this.host.kick({ hints: [row.path] });
        return;
      }
      if (row.localHash !== null) this.records.trashed(row.localHash, aside);
    }
    this.records.record(row, null, null);
  }

  async makeDir(row: FolderFileRow, target: string): Promise<void> {
    // Direct lstats (microseconds each): a page of directories is made one after the other.
    let existing = diskStateSync(target);
    if (existing && !existing.isDirectory()) {
      await this.trash(row.path, target, row.localHash);
      existing = null;
    }
    const made = existing === null && (await this.dirIntoPlace(row, target));
    // Already there (made as a file's parent), or taken meanwhile: made the usual way.
    await makeDirsInside(this.root, row.path);
    this.madeDirs.add(row.path);
    const state = diskStateSync(target);
    // Found there: logged as found (what the record will say), so that after a kill before the
    // record the user's removal of it while the node was down is a deletion too.
    if (!made && state?.isDirectory() === true) this.records.makingDir(row, state, null);
    this.records.record(row, state, null);
  }

  /**
   * A new directory, made in `.mosaic/tmp/` and renamed to its path, logged just before
   * (link-log.ts): after a kill before its record, the temp directory's absence says that it
   * was made, so the user's removal of it while the node was down is a deletion, not a directory
   * never made. A rename replaces an empty directory made there in between (nothing lost: an
   * empty one for an empty one); any other failure leaves it to `makeDirsInside`.
   */
  private async dirIntoPlace(row: FolderFileRow, target: string): Promise<boolean> {
    await this.ensureParent(row.path);
    const tmp = join(folderTmpDir(this.root), `${randomUUID()}${DIR_TMP}`);
    mkdirSync(tmp);
    const info = diskStateSync(tmp);
    if (info === null) throw new Error(`temp directory gone: ${tmp}`);
    this.records.makingDir(row, info, tmp);
    assertParentsInside(this.root, row.path, false);
    try {
      renameSync(tmp, target);
      this.records.syncDirLater(dirname(target));
      return true;
    } catch {
      this.records.notLinked(row.path);
      // Left behind, the next pull's sweep removes it.
      try {
        rmdirSync(tmp);
      } catch {
        // swept later
      }
      return false;
    }
  }

  private async trash(path: string, target: string, hash: string | null): Promise<void> {
    const file = await trashSlot(this.root, path);
    // Never moves a file from outside the folder into its trash through a symlinked parent.
    assertParentsInside(this.root, path, false);
    await rename(target, file);
    // Recorded with the page's other rows (one transaction), like the disk states.
    if (hash !== null) this.records.trashed(hash, file);
  }

  /** The disk now holds the row's version (recorded at the next flush). */
  record(
    row: FolderFileRow,
    info: { size: number; mtimeMs: number; ino: number } | null,
    hash: string | null,
  ): void {
    this.records.record(row, info, hash);
  }

  /** Makes what was written durable, then records it (WriteRecords.flush). */
  flush(applied: readonly string[] = []): Promise<void> {
    this.beneath.close();
    return this.records.flush(applied);
  }

  /** The pull is over (or failed): nothing of the folder is held open. */
  endPull(): void {
    this.beneath.close();
  }
}
