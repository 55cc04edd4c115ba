/**
 * A received file moved into place, or a file opened to serve a peer, through the folder root's
 * descriptor, the kernel refusing any symbolic link on the way (`native/beneath`, package
 * `mosaic-beneath`: openat2 with RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS, Linux 5.6 and later,
 * built by node-gyp at `npm ci`). The move is a rename that replaces nothing (renameat2 with
 * RENAME_NOREPLACE; a link and an unlink where the file system lacks the flag).
 *
 * The usual way (inside-folder.ts) checks each directory between the root and the file with
 * `lstat`, then links by path: one lstat per level and per file, two full path walks for the
 * link, and a window of microseconds in which a local user could swap a checked directory for a
 * link. Here the parent is opened below the root with symlinks refused, and the file moved into
 * the directory so opened: one short walk, and no window (docs/benchmarks.md, "Links below the
 * root's descriptor").
 *
 * Only the fast way of the usual case: when it cannot be taken (no binding, an older kernel or a
 * seccomp profile without openat2, or the way there is not real directories as the kernel
 * resolved it: a symlink, a missing or non-directory parent), `link` answers null and the caller
 * goes the usual way, which refuses with its reason (UnsafePathError) or, if things changed
 * meanwhile, links by path as before. MOSAIC_BENEATH=off turns it off.
 */
import { closeSync, constants, openSync } from 'node:fs';
import { checkRelativePath } from './core/index.js';
import { movedFiles } from './beneath-batch.js';
import { binding, unavailable } from './beneath-binding.js';
import { NO_HARD_LINK_HERE } from './link-no-replace.js';

/** What openat2 answers when no regular file is at the path by a way free of symlinks. */
const NOT_THERE: ReadonlySet<string> = new Set(['ELOOP', 'ENOENT', 'ENOTDIR', 'EXDEV']);

/** Links into and opens files of one folder through a descriptor of its root. */
export class FolderBeneath {
  /** The root's descriptor, opened at the first call; null: this way is not available. */
  private fd: number | null | undefined;
  private idle: NodeJS.Timeout | undefined;

  /**
   * `idleMs`: the descriptor is closed after this long without a call (none: by `close`).
   * `moves`: 'link' links and unlinks at once, as the binding does by itself on a file system
   * without RENAME_NOREPLACE (tests take that way on purpose).
   */
  constructor(
    private readonly root: string,
    private readonly idleMs?: number,
    private readonly moves: 'rename' | 'link' = 'rename',
  ) {}

  /**
   * Moves `from` to `rel` without replacing anything (as `linkNoReplaceSync`, in one step: `from`
   * is gone exactly when `rel` is there): true once done; false when `rel` is taken, or this file
   * system can neither rename without replacing nor link; null when this way cannot be taken
   * (see above): go the usual way.
   */
  move(from: string, rel: string): boolean | null {
    const native = binding();
    if (native === null || !checkRelativePath(rel).ok) return null;
    const root = this.rootFd();
    if (root === null) return null;
    try {
      native.moveBeneath(from, root, rel, this.moves === 'link');
    } catch (error) {
      const { code, syscall } = error as NodeJS.ErrnoException;
      const moving = syscall === 'renameat2' || syscall === 'linkat';
      if (moving && NO_HARD_LINK_HERE.has(code ?? '')) return false;
      if (syscall !== 'openat2') throw error;
      unavailable(code);
      return null;
    }
    return true;
  }

  /**
   * `move` for a batch, on libuv's pool (one trip for all: native/beneath/batch.c): `names` in
   * the directory `fromDirFd` to `rels`. For each file, null once moved, else why not (the
   * caller takes the file the usual way, `move` then its fallbacks, which judge the failure
   * as they do for one file). Null when this way cannot be taken at all.
   */
  async moveAll(
    fromDirFd: number,
    names: readonly string[],
    rels: readonly string[],
  ): Promise<(NodeJS.ErrnoException | null)[] | null> {
    const native = binding();
    if (native?.moveFiles === undefined || !rels.every((rel) => checkRelativePath(rel).ok)) {
      return null;
    }
    const root = this.rootFd();
    if (root === null) return null;
    return movedFiles(
      await native.moveFiles(fromDirFd, names, root, rels, this.moves === 'link'),
      rels,
    );
  }

  /** `moveAll` of the files `names` in the directory `dir` (opened for the call). */
  async moveAllFrom(
    dir: string,
    names: readonly string[],
    rels: readonly string[],
  ): Promise<(NodeJS.ErrnoException | null)[] | null> {
    let dirFd: number;
    try {
      dirFd = openSync(dir, constants.O_RDONLY | constants.O_DIRECTORY);
    } catch {
      return null;
    }
    try {
      return await this.moveAll(dirFd, names, rels);
    } catch {
      // Not moved by the batch: each file the usual way.
      return null;
    } finally {
      closeSync(dirFd);
    }
  }

  /**
   * A descriptor of the file at `rel` opened with `flags`, nothing on the way nor the file itself
   * a symbolic link; false when there is no such file this way (a link, a missing or
   * non-directory parent, gone); null when this way cannot be taken. Other failures (a file
   * this process may not read, no descriptor left) are thrown.
   */
  open(rel: string, flags: number): number | false | null {
    const native = binding();
    if (native === null) return null;
    if (!checkRelativePath(rel).ok) return false;
    const root = this.rootFd();
    if (root === null) return null;
    try {
      return native.openBeneath(root, rel, flags);
    } catch (error) {
      const { code } = error as NodeJS.ErrnoException;
      if (unavailable(code)) return null;
      if (NOT_THERE.has(code ?? '')) return false;
      throw error;
    }
  }

  /**
   * Closes the root's descriptor (a pull's at the end of each round: a directory held open keeps
   * its disk from being unmounted, and the next round opens the root as it then is).
   */
  close(): void {
    if (typeof this.fd === 'number') closeSync(this.fd);
    this.fd = undefined;
    clearTimeout(this.idle);
    this.idle = undefined;
  }

  private rootFd(): number | null {
    if (this.idleMs !== undefined) {
      if (this.idle === undefined) {
        this.idle = setTimeout(() => {
          this.close();
        }, this.idleMs);
        this.idle.unref();
      } else this.idle.refresh();
    }
    if (this.fd !== undefined) return this.fd;
    try {
      // The root itself may be a symlink (the user chose it): followed, as by every path.
      this.fd = openSync(this.root, constants.O_RDONLY | constants.O_DIRECTORY);
    } catch {
      this.fd = null;
    }
    return this.fd;
  }
}
