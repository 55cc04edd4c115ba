/**
 * The write points of folder sync (FolderPull's disk half): every change a pull makes to a
 * folder's files goes through this class, so each is checked here (sec-misc adds its path-safety
 * check at these points):
 * - `place`: a verified temp file into place, only over what was indexed (check, move aside,
 *   check again, link in without replacing);
 * - `remove`: a deletion (moved aside into the trash, checked, put back if a save raced it);
 * - `makeDir`; `trash`/`trashSlot`; `putBack` (a local save moved aside by mistake).
 * Written disk states are recorded a round at a time (`flush`), in the transaction that also
 * forgets the round's `folder_applying` entries (see docs/architecture.md, "Folder sync").
 */
import { randomUUID } from 'node:crypto';
import { linkSync, unlinkSync } from 'node:fs';
import { link, lstat, mkdir, readdir, rename, rm, rmdir, unlink, utimes } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fsyncDir } from '../core/fsync.js';
import { conflictName, joinInside } from './core/index.js';
import { diskState } from './disk-state.js';
import { diskDiffers } from './folder-apply.js';
import type { FolderFileRow } from './folder-index.repository.js';
import type { FolderSyncDeps } from './folder-sync.js';
import { folderTmpDir, folderTrashDir } from './marker.js';
import { assertParentsInside, makeDirsInside } from './inside-folder.js';
import { span } from './trace.js';

/** The suffix of a small file's temp file (`<hash>.<uuid>.small`): never resumed, swept. */
export const SMALL_TMP = '.small';

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
  /** Disk states written but not recorded yet, and directories to fsync (see flushRecords). */
  private records: FolderFileRow[] = [];
  private trashed: { hash: string; file: string }[] = [];
  /** Trashed files taken back out of the trash (see fromThisDisk), to forget at the flush. */
  private untrashedFiles: string[] = [];
  private readonly dirsToSync = new Set<string>();
  /** Directories known to exist during a pull (saves a mkdir per file). */
  private readonly madeDirs = new Set<string>();
  /** Files placed by the current pull (progress resets the back-off). */
  placed = 0;
  /**
   * Files this node wrote (or removed) and recorded lately, as recorded: the watcher's events
   * for them are not news if the disk still says so (`notOwnWrites`). Bounded.
   */
  private readonly written = new Map<string, Recorded>();

  constructor(
    private readonly deps: FolderSyncDeps,
    private readonly host: WriterHost,
  ) {}

  private get id(): string {
    return this.deps.config.id;
  }

  /** A new pull: directories are looked at again, progress counted from zero. */
  startPull(): void {
    this.placed = 0;
    this.madeDirs.clear();
  }

  /** A directory whose entries changed, fsynced before the next records. */
  syncDirLater(dir: string): void {
    this.dirsToSync.add(dir);
  }

  /** A trashed file taken back out of the trash: forgotten with the next records. */
  untrashed(file: string): void {
    this.untrashedFiles.push(file);
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
   * `written` is the temp file's final state when the caller already has it (saves a stat).
   */
  async place(
    wanted: Wanted,
    tmp: string,
    written: { size: number; mtimeMs: number; ino: number } | null,
  ): Promise<void> {
    const { row, target, hash } = wanted;
    let info = written;
    if (info === null) {
      const mtime = mtimeSeconds(row.mtimeMs);
      await utimes(tmp, mtime, mtime);
      info = await diskState(tmp);
      if (info === null) throw new Error(`temp file gone: ${tmp}`);
    }
    await this.ensureParent(row.path);
    const indexedThere = row.localInode !== null || row.localSize !== null;
    const aside = indexedThere ? await this.trashSlot(row.path) : null;
    await this.deps.beforeReplace?.(row.path);
    // Nothing indexed there (a new file, the usual case): linked in without replacing, it needs
    // no check first; if the path is taken, the steps below judge what took it.
    if (aside === null && !indexedThere) {
      assertParentsInside(this.root, row.path, false);
      if (linkNoReplaceSync(tmp, target)) {
        this.placed++;
        this.dirsToSync.add(dirname(target));
        this.record(row, info, hash);
        return;
      }
    }
    // 1.
    const existing = await diskState(target);
    // Nothing there is fine too: nothing local to lose (see FolderPull.applyOne).
    if (existing !== null && !matchesIndexed(row, existing)) {
      await this.lostRace(row, tmp, 'the file here changed since it was indexed; rescanning it');
      return;
    }
    // 2.
    if (existing?.isDirectory()) {
      assertParentsInside(this.root, row.path);
      await rmdir(target);
    } else if (existing && aside !== null) {
      // Never moves a file from outside the folder into its trash through a symlinked parent.
      assertParentsInside(this.root, row.path, false);
      await rename(target, aside);
      if (!matchesIndexed(row, await diskState(aside))) {
        await this.putBack(row, aside, target);
        await this.lostRace(row, tmp, 'saved here while being replaced; rescanning it');
        return;
      }
      if (row.localHash !== null) this.trashed.push({ hash: row.localHash, file: aside });
    }
    // 3. Same tick as the link: no symlinked parent can have been followed (inside-folder.ts).
    assertParentsInside(this.root, row.path, false);
    if (!(await linkNoReplace(tmp, target))) {
      await this.lostRace(row, tmp, 'created here while being replaced; rescanning it');
      return;
    }
    this.placed++;
    this.dirsToSync.add(dirname(target));
    this.record(row, info, hash);
  }

  private async lostRace(row: FolderFileRow, tmp: string, reason: string): Promise<void> {
    await rm(tmp, { force: true });
    this.host.stall(row, reason);
    this.host.kick({ hints: [row.path] });
  }

  /**
   * A local save was moved aside by mistake: back to its path, never over a newer file (then it
   * stays beside it, under a conflict name, and becomes a version of its own at the next scan).
   */
  private async putBack(row: FolderFileRow, aside: string, target: string): Promise<void> {
    assertParentsInside(this.root, row.path, false);
    if (await linkNoReplace(aside, target)) return;
    const copy = conflictName(row.path, Date.now(), this.deps.selfName, randomUUID().slice(0, 8));
    await rename(aside, joinInside(this.deps.config.root, copy));
    this.deps.log.warn(
      { folder: this.id, path: row.path, keptAs: copy },
      'a local save raced a pulled version and another save; kept beside it',
    );
  }

  /**
   * Temp files that are also linked into the folder (a crash between link and unlink in
   * `place`): removed, so a resumed transfer never writes into a placed file. Small files' temp
   * files are never resumed: all removed (no pull is running).
   */
  async sweepLinkedTmp(): Promise<void> {
    const dir = folderTmpDir(this.deps.config.root);
    for (const name of await readdir(dir).catch(() => [] as string[])) {
      const file = join(dir, name);
      if (name.endsWith(SMALL_TMP)) {
        await rm(file, { force: true });
        continue;
      }
      const info = await lstat(file).catch(() => null);
      if (info?.isFile() === true && info.nlink > 1) await rm(file, { force: true });
    }
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
      const aside = await this.trashSlot(row.path);
      assertParentsInside(this.root, row.path, false);
      await rename(target, aside);
      if (!matchesIndexed(row, await diskState(aside))) {
        await this.putBack(row, aside, target);
        this.host.stall(row, 'saved here while being deleted; rescanning it');
        this.host.kick({ hints: [row.path] });
        return;
      }
      if (row.localHash !== null) this.trashed.push({ hash: row.localHash, file: aside });
    }
    this.record(row, null, null);
  }

  async makeDir(row: FolderFileRow, target: string): Promise<void> {
    const existing = await diskState(target);
    if (existing && !existing.isDirectory()) await this.trash(row.path, target, row.localHash);
    await makeDirsInside(this.root, row.path);
    this.madeDirs.add(row.path);
    this.record(row, await diskState(target), null);
  }

  private async trash(path: string, target: string, hash: string | null): Promise<void> {
    const file = await this.trashSlot(path);
    // Never moves a file from outside the folder into its trash through a symlinked parent.
    assertParentsInside(this.root, path, false);
    await rename(target, file);
    // Recorded with the page's other rows (one transaction), like the disk states.
    if (hash !== null) this.trashed.push({ hash, file });
  }

  /** A fresh trash path for `path` (its directory made): `.mosaic/trash/<time>/<path>.<id>`. */
  private async trashSlot(path: string): Promise<string> {
    const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '');
    const file = join(
      folderTrashDir(this.deps.config.root),
      stamp,
      `${path}.${randomUUID().slice(0, 8)}`,
    );
    await mkdir(dirname(file), { recursive: true });
    return file;
  }

  /** The disk now holds the row's version. */
  record(
    row: FolderFileRow,
    info: { size: number; mtimeMs: number; ino: number } | null,
    hash: string | null,
  ): void {
    this.records.push({
      ...row,
      need: false,
      localSize: info && row.kind === 'file' ? info.size : info ? 0 : null,
      localMtimeMs: info ? Math.floor(info.mtimeMs) : null,
      localInode: info ? info.ino : null,
      localHash: hash,
      localVv: info ? row.vv : null,
    });
  }

  /**
   * Makes what was written durable, then records it: one fsync per directory touched and one
   * transaction per page, not per file (a crash in between leaves files the next scan finds
   * identical to their version, so they merge without a conflict).
   */
  async flush(applied: readonly string[] = []): Promise<void> {
    await this.deps.beforeRecord?.();
    const dirs = [...this.dirsToSync];
    this.dirsToSync.clear();
    const endSync = span('flush.fsyncDirs', dirs.length);
    await Promise.all(dirs.map((d) => fsyncDir(d).catch(() => undefined)));
    endSync();
    const rows = this.records;
    const trashed = this.trashed;
    const untrashed = this.untrashedFiles;
    this.records = [];
    this.trashed = [];
    this.untrashedFiles = [];
    const { index } = this.deps;
    const endCommit = span('flush.commit', rows.length);
    // One transaction: the disk states, the trash and the round's applying versions together.
    const endGate = span('flush.gate');
    await index.transaction(() => {
      endGate();
      index.trash.record(this.id, trashed, untrashed, Date.now());
      index.upsertMany(rows.map((row) => this.onCurrentVersion(row)));
      index.versions.doneApplying(this.id, applied);
    });
    endCommit();
    for (const row of rows) {
      if (row.kind !== 'file') continue;
      if (this.written.size >= MAX_WRITTEN) this.written.clear();
      this.written.set(row.path, {
        localSize: row.localSize,
        localMtimeMs: row.localMtimeMs,
        localInode: row.localInode,
        localHash: row.localHash,
        kind: row.kind,
      });
    }
  }

  /**
   * The watcher's hinted paths less the files this node itself just wrote or removed and
   * recorded, when the disk still holds exactly that (one lstat each; a directory listing and a
   * look at every file beside it saved). Anything else, a save since included, stays a hint.
   */
  async notOwnWrites(hints: ReadonlySet<string>): Promise<Set<string>> {
    const rest = new Set<string>();
    for (const path of hints) {
      const recorded = this.written.get(path);
      if (recorded === undefined) {
        rest.add(path);
        continue;
      }
      this.written.delete(path);
      const target = joinInside(this.root, path);
      const info = await diskState(target).catch(() => undefined);
      if (info === undefined || !matchesIndexed(recorded, info)) rest.add(path);
    }
    return rest;
  }

  /**
   * A disk state recorded against the version it was written for. If a newer version of the
   * path arrived meanwhile (ops are received while a pull runs), that version stays, with this
   * disk state, and still needed if the disk does not hold it: a stale snapshot must never
   * overwrite it. Call inside the recording transaction.
   */
  private onCurrentVersion(recorded: FolderFileRow): FolderFileRow {
    const current = this.deps.index.get(this.id, recorded.path);
    if (current === undefined) return recorded;
    const same =
      current.hlc === recorded.hlc &&
      current.hash === recorded.hash &&
      current.deleted === recorded.deleted &&
      current.kind === recorded.kind;
    // Even the same version may have a wider vector now (a losing sibling arrived meanwhile).
    const disk: FolderFileRow = {
      ...current,
      ...(same ? { blockSize: recorded.blockSize, blocks: recorded.blocks } : {}),
      localSize: recorded.localSize,
      localMtimeMs: recorded.localMtimeMs,
      localInode: recorded.localInode,
      localHash: recorded.localHash,
      localVv: same && recorded.localVv !== null ? current.vv : recorded.localVv,
    };
    return { ...disk, need: diskDiffers(disk) };
  }
}

/** Files recorded lately, at most (notOwnWrites); beyond, the memory is dropped. */
const MAX_WRITTEN = 50_000;

type Recorded = Pick<
  FolderFileRow,
  'kind' | 'localSize' | 'localMtimeMs' | 'localInode' | 'localHash'
>;

/**
 * Whether the disk (`info`, from lstat, null when nothing is there) still holds what the index
 * says was there when it was last scanned or written: only then may a remote change replace it.
 */
export function matchesIndexed(
  row: Recorded,
  info: { size: number; mtimeMs: number; ino: number; isDirectory(): boolean } | null,
): boolean {
  if (row.localInode === null && row.localSize === null) return info === null || info.isDirectory();
  if (info === null) return false;
  if (row.kind === 'dir' && row.localHash === null) return info.isDirectory();
  return (
    info.size === row.localSize &&
    Math.floor(info.mtimeMs) === row.localMtimeMs &&
    info.ino === row.localInode
  );
}

/**
 * `linkNoReplace` in two calls made here (a small file's place, see FolderPull.writeTmp); false
 * when `to` is taken, or when this file system has no hard links (then the caller goes the long
 * way, which ends in `linkNoReplace`).
 */
function linkNoReplaceSync(from: string, to: string): boolean {
  try {
    linkSync(from, to);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (
      ['EEXIST', 'EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS', 'EXDEV', 'EMLINK'].includes(code ?? '')
    )
      return false;
    throw error;
  }
  unlinkSync(from);
  return true;
}

/**
 * Puts `from` at `to` only if nothing is at `to` (a hard link fails with EEXIST), then removes
 * `from`; false when `to` was taken. On a file system without hard links: a rename right after a
 * check that `to` is free.
 */
async function linkNoReplace(from: string, to: string): Promise<boolean> {
  try {
    await link(from, to);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    if (!['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS', 'EXDEV', 'EMLINK'].includes(code ?? '')) {
      throw error;
    }
    if ((await diskState(to)) !== null) return false;
    await rename(from, to);
    return true;
  }
  await unlink(from);
  return true;
}

/** Half a millisecond up: seconds as a double must not round below the recorded millisecond. */
export function mtimeSeconds(mtimeMs: number): number {
  return (mtimeMs + 0.5) / 1000;
}
