/**
 * A received file linked into place through the folder root's descriptor, the kernel refusing
 * any symbolic link on the way (`native/beneath`, package `mosaic-beneath`: openat2 with
 * RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS, Linux 5.6 and later, built by node-gyp at `npm ci`).
 *
 * The usual way (inside-folder.ts) checks each directory between the root and the file with
 * `lstat`, then links by path: one lstat per level and per file, two full path walks for the
 * link, and a window of microseconds in which a local user could swap a checked directory for a
 * link. Here the parent is opened below the root with symlinks refused, and the file linked into
 * the directory so opened: one short walk, and no window (docs/benchmarks.md, "Links beneath the
 * root").
 *
 * Only the fast way of the usual case: when it cannot be taken (no binding, an older kernel or a
 * seccomp profile without openat2, or the way there is not real directories as the kernel
 * resolved it: a symlink, a missing or non-directory parent), `link` answers null and the caller
 * goes the usual way, which refuses with its reason (UnsafePathError) or, if things changed
 * meanwhile, links by path as before. MOSAIC_BENEATH=off turns it off.
 */
import { closeSync, constants, openSync, unlinkSync } from 'node:fs';
import { createRequire } from 'node:module';
import { checkRelativePath } from './core/index.js';
import { NO_HARD_LINK_HERE } from './link-no-replace.js';

type LinkBeneath = (from: string, rootFd: number, rel: string) => void;

let loaded: LinkBeneath | null | undefined;

function binding(): LinkBeneath | null {
  if (loaded !== undefined) return loaded;
  loaded = null;
  if (process.platform !== 'linux' || process.env['MOSAIC_BENEATH'] === 'off') return loaded;
  try {
    const found = createRequire(import.meta.url)('mosaic-beneath') as { linkBeneath: LinkBeneath };
    if (typeof found.linkBeneath === 'function') loaded = found.linkBeneath;
  } catch {
    // Not built (an optional dependency): the usual way.
  }
  return loaded;
}

/** The links of one pull's round into one folder, through a descriptor of its root. */
export class LinksBeneath {
  /** The root's descriptor, opened at the first link; null: this way is not available. */
  private fd: number | null | undefined;

  constructor(private readonly root: string) {}

  /**
   * Links `from` to `rel` without replacing anything, then removes `from` (as
   * `linkNoReplaceSync`): true once done; false when `rel` is taken, or this file system has no
   * hard links; null when this way cannot be taken (see above): go the usual way.
   */
  link(from: string, rel: string): boolean | null {
    const linkBeneath = binding();
    if (linkBeneath === null || !checkRelativePath(rel).ok) return null;
    const root = this.rootFd();
    if (root === null) return null;
    try {
      linkBeneath(from, root, rel);
    } catch (error) {
      const { code, syscall } = error as NodeJS.ErrnoException;
      if (syscall === 'linkat' && NO_HARD_LINK_HERE.has(code ?? '')) return false;
      if (syscall !== 'openat2') throw error;
      // A kernel or a sandbox without openat2: never again in this process.
      if (code === 'ENOSYS' || code === 'EPERM') loaded = null;
      return null;
    }
    unlinkSync(from);
    return true;
  }

  /**
   * Closes the root's descriptor (at the end of each round: a directory held open keeps its disk
   * from being unmounted, and the next round opens the root as it then is).
   */
  close(): void {
    if (typeof this.fd === 'number') closeSync(this.fd);
    this.fd = undefined;
  }

  private rootFd(): number | null {
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
